import { transportSchema, type Transport } from './query';

/**
 * Constants of the binary sluice.queries.v1 encodings (layout documented in
 * query-batch-codec.ts), shared by the row decoder and the columnar decoder. Not exported from
 * the package: consumers go through the decode functions.
 */
export const BINARY = 0x03;
/** The encoding before responses carried their answer count; decoded as ancount unknown. */
export const BINARY_V2 = 0x02;
export const JSON_FIRST = 0x7b;
export const TRANSPORTS = transportSchema.options;
export const TRANSPORT_INDEX = new Map<Transport, number>(TRANSPORTS.map((t, i) => [t, i]));

export const F_RD = 1;
export const F_CD = 2;
export const F_DO = 4;
export const F_EDNS = 8;
export const F_RCODE = 16;
export const F_ZONE = 32;
export const F_RELATIVE = 64;
export const F_APEX = 128;
