import { HOT_ZONE_BLOCKS } from '@sluice/contracts';
import { hash2Bytes, type Hash2 } from '../hash';

/**
 * A hot zone's names are split into BLOCKS fixed blocks by hash, and a zone run over K shards
 * gives shard i the blocks b with b mod K = i. Every piece of per-name state (seen filter,
 * vocabulary, repeat sample) is kept per block, sized for its block, so a block's state is the
 * same whichever shard holds it: that is what makes the alerts independent of K. K = 1, 2, 4,
 * 8… split the blocks evenly; any K ≤ BLOCKS works.
 */
export const BLOCKS = HOT_ZONE_BLOCKS;

/**
 * The block of a name, from its second hash (the first one indexes HyperLogLog registers);
 * the ingest routes by the contracts' hotZoneBlock, which computes the same from the bytes.
 */
export function blockOf(h2: number): number {
  return h2 >>> 26;
}

export function shardOfBlock(block: number, shards: number): number {
  return block % shards;
}

const scratch: Hash2 = { h1: 0, h2: 0 };

/** The shard of a subname (the labels left of the zone, as bytes) in a zone split `shards` ways. */
export function shardOfSubname(b: Uint8Array, start: number, end: number, shards: number): number {
  return shardOfBlock(blockOf(hash2Bytes(b, start, end, scratch).h2), shards);
}

/** The subname of `qname` in `zone` as the detector takes it (the qname less ".zone" by length). */
export function subnameOf(qname: string, zone: string): string {
  return qname.length > zone.length ? qname.slice(0, qname.length - zone.length - 1) : '';
}

export function shardOfQname(qname: string, zone: string, shards: number): number {
  if (shards <= 1) return 0;
  const b = Buffer.from(subnameOf(qname, zone), 'utf8');
  return shardOfSubname(b, 0, b.length, shards);
}
