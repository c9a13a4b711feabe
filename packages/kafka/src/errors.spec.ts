import {
  kafkaLogLevel,
  isTransientBrokerError,
  membershipErrorOf,
  MEMBERSHIP_ERRORS,
  TRANSIENT_BROKER_ERRORS,
} from './errors';

// kafkajs' own error table (not part of its typed API): the texts its log entries carry.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { errorCodes } = require('kafkajs/src/protocol/error') as {
  errorCodes: { type: string; message: string; retriable: boolean }[];
};

describe('Kafka error knowledge', () => {
  it('names transient broker states with the exact texts kafkajs logs, all retriable', () => {
    for (const [type, message] of TRANSIENT_BROKER_ERRORS) {
      const known = errorCodes.find((e) => e.type === type);
      expect(known).toMatchObject({ message, retriable: true });
    }
  });

  it('recognises transient errors as messages, errors and causes', () => {
    expect(isTransientBrokerError('The group coordinator is not available')).toBe(true);
    const protocol = Object.assign(new Error('x'), { type: 'GROUP_LOAD_IN_PROGRESS' });
    expect(isTransientBrokerError(new Error('wrapped', { cause: protocol }))).toBe(true);
    expect(isTransientBrokerError(new Error('Not authorized to access group'))).toBe(false);
    expect(isTransientBrokerError(undefined)).toBe(false);
  });

  it('keeps ERROR for what an operator must act on, not for what kafkajs retries', () => {
    const coordinator = { error: 'The group coordinator is not available' };
    expect(
      kafkaLogLevel(
        'error',
        'Connection',
        'Response GroupCoordinator(key: 10, version: 2)',
        coordinator,
      ),
    ).toBe('debug');
    expect(
      kafkaLogLevel('error', 'Connection', 'Response Produce(key: 0, version: 7)', {
        error: 'Not authorized to access topics: [Topic authorization failed]',
      }),
    ).toBe('error');
    expect(
      kafkaLogLevel(
        'error',
        'Consumer',
        "Crash: KafkaJSProtocolError: The coordinator is loading and hence can't process requests for this group",
        {},
      ),
    ).toBe('warn');
    expect(
      kafkaLogLevel(
        'error',
        'Consumer',
        'Crash: KafkaJSNonRetriableError: Group authorization failed',
        {},
      ),
    ).toBe('error');
    expect(kafkaLogLevel('error', 'Consumer', 'Restarting the consumer in 200ms', {})).toBe('warn');
    // A heartbeat answered during an ordinary rebalance (text checked against kafkajs' table).
    const rebalancing = errorCodes.find((e) => e.type === 'REBALANCE_IN_PROGRESS')!.message;
    expect(
      kafkaLogLevel('error', 'Connection', 'Response Heartbeat(key: 12, version: 3)', {
        error: rebalancing,
      }),
    ).toBe('debug');
    expect(kafkaLogLevel('warn', 'Connection', 'Connection error: connect ECONNREFUSED', {})).toBe(
      'warn',
    );
  });

  it('finds the membership error under kafkajs wrappers, so eachBatch can re-throw it raw', () => {
    for (const type of MEMBERSHIP_ERRORS)
      expect(errorCodes.find((e) => e.type === type)).toBeDefined();
    const raw = Object.assign(new Error('The coordinator is not aware of this member'), {
      type: 'UNKNOWN_MEMBER_ID',
    });
    const wrapped = new Error('KafkaJSNonRetriableError', {
      cause: new Error('retries', { cause: raw }),
    });
    expect(membershipErrorOf(wrapped)).toBe(raw);
    expect(membershipErrorOf(raw)).toBe(raw);
    const other = Object.assign(new Error('x'), { type: 'TOPIC_AUTHORIZATION_FAILED' });
    expect(membershipErrorOf(new Error('w', { cause: other }))).toBeNull();
    expect(membershipErrorOf(new TypeError('bug'))).toBeNull();
    expect(membershipErrorOf('text')).toBeNull();
  });
});
