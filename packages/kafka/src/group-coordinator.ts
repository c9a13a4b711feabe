import { type Kafka } from 'kafkajs';
import { isTransientBrokerError } from './errors';

export interface CoordinatorWaitOptions {
  /** Give up waiting after this long and let the consumer try anyway (default 120 s). */
  timeoutMs?: number;
  /** Pause between attempts once the admin client's own retries gave up (default 500 ms). */
  intervalMs?: number;
}

/**
 * Resolves once the group's coordinator answers for `groupId`. On a broker that has just
 * started, the coordinator does not exist yet (a fresh cluster creates __consumer_offsets on the
 * first FindCoordinator) or is still loading its partition of it; a consumer joining then gets
 * GROUP_LOAD_IN_PROGRESS from JoinGroup, which kafkajs does not retry: the consumer
 * crashes and restarts. DescribeGroups asks the same coordinator about the same group and is
 * retried, so waiting on it first makes the join succeed at once. Returns the time waited (ms).
 * Other errors (authorisation, unreachable broker) are left for the consumer to report.
 */
export async function waitForGroupCoordinator(
  kafka: Kafka,
  groupId: string,
  options: CoordinatorWaitOptions = {},
): Promise<number> {
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 120_000);
  const admin = kafka.admin();
  try {
    await admin.connect();
    for (;;) {
      try {
        await admin.describeGroups([groupId]);
        return Date.now() - started;
      } catch (error) {
        if (!isTransientBrokerError(error) || Date.now() >= deadline) return Date.now() - started;
        await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
      }
    }
  } catch {
    return Date.now() - started;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
