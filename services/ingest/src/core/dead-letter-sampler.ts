import { type DeadLetter } from '@sluice/contracts';

/** Bytes kept per dead letter: enough to see what went wrong, not a way to fill a topic. */
const MAX_RAW = 4096;

/**
 * Decides which malformed inputs are copied to the dead-letter topic: the first of every
 * reason, then one in round(1/rate). Deterministic, so a replay samples the same inputs.
 */
export class DeadLetterSampler {
  private readonly seen = new Map<string, number>();
  private readonly every: number;

  constructor(rate: number) {
    this.every = rate <= 0 ? Infinity : Math.max(1, Math.round(1 / rate));
  }

  sample(
    reason: string,
    raw: Buffer,
    detail: string,
    source: string,
    receivedAt: number,
  ): DeadLetter | null {
    const n = this.seen.get(reason) ?? 0;
    this.seen.set(reason, n + 1);
    if (n !== 0 && (this.every === Infinity || n % this.every !== 0)) return null;
    return {
      v: 1,
      source,
      reason,
      receivedAt,
      raw: raw.subarray(0, MAX_RAW).toString('base64'),
      detail: raw.length > MAX_RAW ? `${detail} (first ${MAX_RAW} of ${raw.length} bytes)` : detail,
    };
  }
}
