export * from './rng';
export * from './names';
export * from './resolver-space';
export * from './scenario';
export * from './wire';
export * from './capture-writer';
export * from './pcap';
export * from './udp';
