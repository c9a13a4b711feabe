import * as protobuf from 'protobufjs';
import { type Transport } from '@sluice/contracts';
import { formatIpBytes } from '@sluice/dns';
import { DNSTAP_SCHEMA } from './dnstap.schema';

// Compiled once at module load: protobufjs generates a specialised decoder per type.
const DnstapType = protobuf.Root.fromJSON(DNSTAP_SCHEMA).lookupType('dnstap.Dnstap');

export const DnstapMessageType = {
  AUTH_QUERY: 1,
  AUTH_RESPONSE: 2,
  RESOLVER_QUERY: 3,
  RESOLVER_RESPONSE: 4,
  CLIENT_QUERY: 5,
  CLIENT_RESPONSE: 6,
} as const;

type Long = { toNumber(): number };
interface RawMessage {
  type: number;
  socketFamily?: number;
  socketProtocol?: number;
  queryAddress?: Uint8Array;
  queryPort?: number;
  queryTimeSec?: number | Long;
  queryTimeNsec?: number;
  queryMessage?: Uint8Array;
  responseTimeSec?: number | Long;
  responseTimeNsec?: number;
  responseMessage?: Uint8Array;
}
interface RawDnstap {
  identity?: Uint8Array;
  type: number;
  message?: RawMessage | null;
}

/** The parts of one dnstap message that become a query record. */
export interface DnstapEvent {
  identity: string;
  /** true for *_QUERY, false for *_RESPONSE. */
  isQuery: boolean;
  /** Event time in epoch ms (µs fraction): query_time, else response_time. */
  ts: number;
  resolver: string;
  resolverPort: number;
  transport: Transport;
  /** Wire DNS: the query for *_QUERY, the response for *_RESPONSE. */
  dns: Buffer;
}

export type DnstapResult =
  | { ok: true; event: DnstapEvent }
  /** Valid dnstap we deliberately ignore (resolver/forwarder traffic, non-message types). */
  | { ok: true; event: null }
  | { ok: false; reason: 'dnstap-decode' | 'dnstap-incomplete'; detail: string };

const protocols: Record<number, Transport> = {
  1: 'udp',
  2: 'tcp',
  3: 'dot',
  4: 'doh',
  5: 'udp',
  6: 'tcp',
  7: 'doq',
};

const toNumber = (v: number | Long | undefined): number | undefined =>
  v === undefined ? undefined : typeof v === 'number' ? v : v.toNumber();

function timeMs(sec: number | Long | undefined, nsec: number | undefined): number | undefined {
  const s = toNumber(sec);
  // An absent field decodes as 0 (the protobuf default): a response without query_time must
  // take its response_time, not the epoch.
  if (s === undefined || s === 0) return undefined;
  // ms with a µs fraction, as QueryEvent.ts documents.
  return s * 1000 + Math.floor((nsec ?? 0) / 1000) / 1000;
}

const identities = new Map<string, string>();
function identityString(raw: Uint8Array | undefined): string {
  if (!raw || raw.length === 0) return 'dnstap';
  const key = Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('latin1');
  let cached = identities.get(key);
  if (cached === undefined) {
    cached = Buffer.from(raw).toString('utf8');
    if (identities.size < 1024) identities.set(key, cached);
  }
  return cached;
}

/** Decode one dnstap protobuf frame. Never throws. */
export function decodeDnstap(frame: Uint8Array): DnstapResult {
  let decoded: RawDnstap;
  try {
    decoded = DnstapType.decode(frame) as unknown as RawDnstap;
  } catch (err) {
    return {
      ok: false,
      reason: 'dnstap-decode',
      detail: err instanceof Error ? err.message : String(err),
    };
  }
  const m = decoded.message;
  if (decoded.type !== 1 || !m) return { ok: true, event: null };
  let isQuery: boolean;
  switch (m.type) {
    case DnstapMessageType.AUTH_QUERY:
    case DnstapMessageType.CLIENT_QUERY:
      isQuery = true;
      break;
    case DnstapMessageType.AUTH_RESPONSE:
    case DnstapMessageType.CLIENT_RESPONSE:
      isQuery = false;
      break;
    default:
      return { ok: true, event: null };
  }
  const wire = isQuery ? m.queryMessage : m.responseMessage;
  const ts =
    timeMs(m.queryTimeSec, m.queryTimeNsec) ?? timeMs(m.responseTimeSec, m.responseTimeNsec);
  const address = m.queryAddress ? formatIpBytes(m.queryAddress) : null;
  if (!wire || wire.length === 0 || ts === undefined || address === null) {
    const missing = [
      !wire || wire.length === 0 ? (isQuery ? 'query_message' : 'response_message') : null,
      ts === undefined ? 'query_time/response_time' : null,
      address === null ? 'query_address' : null,
    ].filter(Boolean);
    return {
      ok: false,
      reason: 'dnstap-incomplete',
      detail: `message lacks ${missing.join(', ')}`,
    };
  }
  // query_port is a uint32 on the wire: anything above 65535 is a corrupt or hostile frame.
  if (m.queryPort !== undefined && m.queryPort > 0xffff)
    return {
      ok: false,
      reason: 'dnstap-decode',
      detail: `query_port ${m.queryPort} is not a port`,
    };
  return {
    ok: true,
    event: {
      identity: identityString(decoded.identity),
      isQuery,
      ts,
      resolver: address,
      resolverPort: m.queryPort ?? 0,
      transport: protocols[m.socketProtocol ?? 0] ?? 'unknown',
      dns: Buffer.from(wire.buffer, wire.byteOffset, wire.length),
    },
  };
}

export interface DnstapMessageInput {
  type: number;
  identity?: string;
  socketFamily?: number;
  socketProtocol?: number;
  queryAddress?: Uint8Array;
  queryPort?: number;
  queryTimeSec?: number;
  queryTimeNsec?: number;
  queryMessage?: Uint8Array;
  responseAddress?: Uint8Array;
  responsePort?: number;
  responseTimeSec?: number;
  responseTimeNsec?: number;
  responseMessage?: Uint8Array;
}

/** Encode a dnstap frame (used by tests, fixtures and the benchmark's fstrm writer). */
export function encodeDnstap(input: DnstapMessageInput): Buffer {
  const { identity, ...message } = input;
  const payload = DnstapType.fromObject({
    identity: identity !== undefined ? Buffer.from(identity) : undefined,
    type: 1,
    message,
  });
  return Buffer.from(DnstapType.encode(payload).finish());
}
