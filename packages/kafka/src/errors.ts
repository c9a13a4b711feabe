/**
 * What Sluice knows about Kafka's errors, in one place.
 *
 * Transient broker states: a broker that has just started (no __consumer_offsets yet, or still
 * loading it), a leader election, a coordinator moving. Clients retry them and they pass by
 * themselves; kafkajs nevertheless logs each error response at ERROR. An ERROR line must mean
 * something an operator has to act on, so these are logged at debug (a retry that finally
 * gives up still surfaces: as a crash, a failed send, readiness false).
 *
 * Keyed by kafkajs' error message (its log entries carry only the message); kafkajs-errors.spec.ts
 * checks the texts against kafkajs' own table so an upgrade cannot silently change them.
 */
export const TRANSIENT_BROKER_ERRORS: ReadonlyMap<string, string> = new Map([
  ['GROUP_COORDINATOR_NOT_AVAILABLE', 'The group coordinator is not available'],
  [
    'GROUP_LOAD_IN_PROGRESS',
    "The coordinator is loading and hence can't process requests for this group",
  ],
  ['NOT_COORDINATOR_FOR_GROUP', 'This is not the correct coordinator for this group'],
  [
    'LEADER_NOT_AVAILABLE',
    'There is no leader for this topic-partition as we are in the middle of a leadership election',
  ],
  ['NOT_LEADER_FOR_PARTITION', 'This server is not the leader for that topic-partition'],
]);

const transientMessages = new Set(TRANSIENT_BROKER_ERRORS.values());
/** kafkajs' text for REBALANCE_IN_PROGRESS (not retriable: the member rejoins instead). */
const REBALANCING = 'The group is rebalancing, so a rejoin is needed';

/** True for an error (or kafkajs error message) that is a transient broker state. */
export function isTransientBrokerError(error: unknown): boolean {
  if (typeof error === 'string') return transientMessages.has(error);
  let e: unknown = error;
  for (let depth = 0; e instanceof Error && depth < 10; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && TRANSIENT_BROKER_ERRORS.has(type)) return true;
    if (transientMessages.has(e.message)) return true;
    e = e.cause;
  }
  return false;
}

export type KafkaLogLevel = 'debug' | 'warn' | 'error';

/**
 * The level a kafkajs log entry deserves (given the level kafkajs chose, ERROR or WARN):
 * - a response carrying a transient broker error ("Response GroupCoordinator … The group
 *   coordinator is not available"): debug — the client retries it;
 * - a consumer crash on a transient error, and kafkajs restarting the consumer after a
 *   retriable crash: warn — it recovers by itself; if it does not, the service's own
 *   crash handling says so at ERROR.
 */
export function kafkaLogLevel(
  level: 'warn' | 'error',
  namespace: string,
  message: string,
  fields: { error?: unknown },
): KafkaLogLevel {
  if (namespace === 'Connection' && message.startsWith('Response ')) {
    // A heartbeat or commit answered during a rebalance: every member sees it when another joins
    // or leaves, and kafkajs rejoins by itself (2 ERROR lines per ordinary rebalance before).
    if (
      fields.error === REBALANCING ||
      (fields.error as { type?: unknown })?.type === 'REBALANCE_IN_PROGRESS'
    )
      return 'debug';
    return isTransientBrokerError(fields.error) ? 'debug' : level;
  }
  if (namespace === 'Consumer' && level === 'error') {
    if (message.startsWith('Restarting the consumer in ')) return 'warn';
    if (message.startsWith('Crash: ')) {
      const text = message.slice(message.indexOf(': ', 'Crash: '.length) + 2);
      if (transientMessages.has(text)) return 'warn';
    }
  }
  return level;
}

/**
 * Errors that mean "this member is out of the group (or the group is rebalancing)". Seen raw
 * from eachBatch, kafkajs' runner rejoins the group on them.
 */
export const MEMBERSHIP_ERRORS: ReadonlySet<string> = new Set([
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
]);

/**
 * The membership error at the root of `error`, or null. kafkajs' retrier wraps a non-retriable
 * protocol error (UNKNOWN_MEMBER_ID after the session expired, say) in KafkaJSNonRetriableError;
 * thrown from eachBatch, that wrapper crashes the consumer for good (restart: false), whereas
 * the raw error makes the runner rejoin. So eachBatch re-throws the root instead.
 */
export function membershipErrorOf(error: unknown): Error | null {
  let e: unknown = error;
  for (let depth = 0; e instanceof Error && depth < 10; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && MEMBERSHIP_ERRORS.has(type)) return e;
    e = e.cause;
  }
  return null;
}
