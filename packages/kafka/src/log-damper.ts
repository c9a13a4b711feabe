/**
 * Repeats of one kafkajs message are logged once per window: while a broker is down every
 * client logs each failed connection attempt (100–150 ERROR lines in a 20 s outage), which
 * buries what an operator needs — that the broker is down, once, and how often it was retried.
 * The first occurrence passes; the next after the window carries the count it stood for.
 */
export class LogDamper {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly windowMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Whether to log this message now, and how many identical ones were held back since the last
   * one that was logged (null: drop this one).
   */
  admit(key: string): { suppressed: number } | null {
    const t = this.now();
    const last = this.seen.get(key);
    if (last && t - last.at < this.windowMs) {
      last.suppressed++;
      return null;
    }
    const suppressed = last?.suppressed ?? 0;
    this.seen.set(key, { at: t, suppressed: 0 });
    // Bounded: message texts carry addresses and ids, so keep only recent keys.
    if (this.seen.size > 1000)
      for (const [k, v] of this.seen) if (t - v.at >= this.windowMs) this.seen.delete(k);
    return { suppressed };
  }
}
