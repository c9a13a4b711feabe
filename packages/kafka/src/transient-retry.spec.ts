import { KafkaJSProtocolError } from 'kafkajs';
import { retryTransient } from './transient-retry';

function protocolError(type: string, message: string): Error {
  // kafkajs builds its protocol errors from its error-code table entry; its typings say Error.
  const entry = { type, code: 6, retriable: true, message };
  return new KafkaJSProtocolError(entry as unknown as Error);
}

describe('retryTransient', () => {
  it('retries a transient broker state until the call succeeds', async () => {
    let calls = 0;
    const result = await retryTransient(
      () => {
        calls++;
        if (calls < 3)
          return Promise.reject(
            protocolError(
              'NOT_LEADER_FOR_PARTITION',
              'This server is not the leader for that topic-partition',
            ),
          );
        return Promise.resolve('offsets');
      },
      { intervalMs: 1 },
    );
    expect(result).toBe('offsets');
    expect(calls).toBe(3);
  });

  it('throws any other error at once', async () => {
    let calls = 0;
    await expect(
      retryTransient(
        () => {
          calls++;
          return Promise.reject(new Error('Topic authorization failed'));
        },
        { intervalMs: 1 },
      ),
    ).rejects.toThrow('Topic authorization failed');
    expect(calls).toBe(1);
  });

  it('gives up with the last transient error after the deadline', async () => {
    let calls = 0;
    await expect(
      retryTransient(
        () => {
          calls++;
          return Promise.reject(
            protocolError(
              'LEADER_NOT_AVAILABLE',
              'There is no leader for this topic-partition as we are in the middle of a leadership election',
            ),
          );
        },
        // A deadline a loaded box cannot pass before the first retry (30 ms did, once, in CI).
        { timeoutMs: 500, intervalMs: 5 },
      ),
    ).rejects.toThrow('leadership election');
    expect(calls).toBeGreaterThan(1);
  });
});
