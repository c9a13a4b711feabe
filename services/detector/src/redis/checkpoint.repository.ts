import { promisify } from 'node:util';
import { gunzip, gzip, constants } from 'node:zlib';
import { type Redis } from '@sluice/redis';
import { type PartitionSnapshot } from '../core/detector-core';

// On libuv's thread pool: compressing a large partition's state must not stall the consumer's loop.
const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export interface Checkpoint<S = PartitionSnapshot> {
  /** The next Kafka offset to process: the snapshot covers every message before it. */
  offset: string;
  snapshot: S;
}

// Never let an older checkpoint overwrite a newer one (two owners briefly overlap in a rebalance).
const SAVE_IF_NEWER = `
local cur = redis.call('HGET', KEYS[1], 'offset')
if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'offset', ARGV[1], 'state', ARGV[2])
return 1`;

/**
 * Partition state checkpoints in Redis (gzip'd JSON of the core's snapshot), keyed by consumer
 * group, topic and partition. Restart = load the checkpoint, seek Kafka back to its offset and
 * replay the gap, which the deterministic core turns into exactly the state it had.
 */
export class CheckpointRepository<S = PartitionSnapshot> {
  constructor(
    private readonly redis: Redis,
    private readonly group: string,
    /** Whose state: the detector's partitions, or a hot zone's shard or merge stages. */
    private readonly kind = 'ckpt',
  ) {}

  private key(topic: string, partition: number): string {
    return `detector:${this.kind}:${this.group}:${topic}:${partition}`;
  }

  async save(
    topic: string,
    partition: number,
    checkpoint: Checkpoint<S>,
  ): Promise<{ bytes: number; saved: boolean }> {
    const state = await gzipAsync(JSON.stringify(checkpoint.snapshot), {
      level: constants.Z_BEST_SPEED,
    });
    const saved = await this.redis.eval(
      SAVE_IF_NEWER,
      1,
      this.key(topic, partition),
      checkpoint.offset,
      state,
    );
    return { bytes: state.length, saved: saved === 1 };
  }

  async load(topic: string, partition: number): Promise<Checkpoint<S> | null> {
    const h = await this.redis.hgetallBuffer(this.key(topic, partition));
    const offset = h.offset;
    const state = h.state;
    if (!offset || !state) return null;
    return {
      offset: offset.toString(),
      snapshot: JSON.parse((await gunzipAsync(state)).toString('utf8')) as S,
    };
  }
}
