export * from './rng';
export * from './names';
export * from './resolver-space';
export * from './scenario';
export {
  ATTACK_KINDS,
  BENIGN_KINDS,
  baseEvent,
  isAttackKind,
  type AttackKind,
  type BenignKind,
  type StreamKind,
  type StreamSpec,
} from './stream-kinds';
export { activeSpans, streamQpsAt } from './stream-shape';
export * from './wire';
export * from './capture-writer';
export * from './pcap';
export * from './udp';
