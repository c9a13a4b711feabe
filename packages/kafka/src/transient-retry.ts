import { isTransientBrokerError } from './errors';

export interface TransientRetryOptions {
  /** Give up and rethrow the last transient error after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 250 ms). */
  intervalMs?: number;
}

/**
 * Runs `attempt` until it stops failing with a transient broker state, or the deadline passes.
 * kafkajs' admin calls do not retry every such state: ListOffsets on a topic created a moment
 * ago answers NOT_LEADER_FOR_PARTITION until its leader is elected, and admin.fetchTopicOffsets
 * throws it — which, at start-up, killed the reputation service against a fresh broker. Any
 * other error is thrown at once.
 */
export async function retryTransient<T>(
  attempt: () => Promise<T>,
  options: TransientRetryOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!isTransientBrokerError(error) || Date.now() >= deadline) throw error;
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 250));
    }
  }
}
