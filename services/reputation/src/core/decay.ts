/**
 * Exponential decay with a half-life. Scores are sums Σ cᵢ·2^(−(T−tᵢ)/h) over contributions cᵢ at
 * event times tᵢ: folding a contribution in is order-independent, so late or replayed records give
 * the same score as in-order ones. The Redis Lua script implements the same fold (see fold()).
 */
export function decayFactor(elapsedMs: number, halfLifeMs: number): number {
  return elapsedMs <= 0 ? 1 : Math.pow(2, -elapsedMs / halfLifeMs);
}

export interface Decayed {
  /** Decayed attack-like queries. */
  attack: number;
  /** Decayed total queries. */
  total: number;
  /** Reference (event) time of the sums, ms. */
  ts: number;
}

/** Adds one observation at event time `ts`; the reference time only moves forward. */
export function fold(
  state: Decayed | null,
  attack: number,
  total: number,
  ts: number,
  halfLifeMs: number,
): Decayed {
  if (state === null) return { attack, total, ts };
  if (ts >= state.ts) {
    const f = decayFactor(ts - state.ts, halfLifeMs);
    return { attack: state.attack * f + attack, total: state.total * f + total, ts };
  }
  const f = decayFactor(state.ts - ts, halfLifeMs);
  return { attack: state.attack + attack * f, total: state.total + total * f, ts: state.ts };
}

/** The sums as they stand at `now` (never "un-decays" when now is before the reference time). */
export function decayTo(state: Decayed, now: number, halfLifeMs: number): Decayed {
  const f = decayFactor(now - state.ts, halfLifeMs);
  return { attack: state.attack * f, total: state.total * f, ts: Math.max(now, state.ts) };
}
