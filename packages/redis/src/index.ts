import { Redis } from 'ioredis';
import { type RedisConfig } from '@sluice/config';

export { Redis };

/**
 * One place that builds Redis clients. Every key gets the deployment's prefix, so several
 * Sluice installs (or test runs) can share one Redis without touching each other's keys.
 */
export function createRedis(config: RedisConfig): Redis {
  return new Redis(config.url, {
    keyPrefix: config.keyPrefix,
    // While disconnected, commands wait in the offline queue; each one fails after three
    // reconnection attempts rather than waiting for Redis forever.
    maxRetriesPerRequest: 3,
    enableOfflineQueue: true,
    lazyConnect: true,
    // A hung Redis (process stopped, port still open) never answers: without a timeout every
    // command, and the consumer batch waiting on it, would wait forever.
    commandTimeout: COMMAND_TIMEOUT_MS,
  });
}

const COMMAND_TIMEOUT_MS = 10_000;

/**
 * Whether Redis answers, for readiness: the connection is up *and* a PING came back recently.
 * The connection status alone stays `ready` while Redis hangs (a stopped process keeps its
 * port open). Probes run in the background so /readyz never waits on Redis.
 */
export class RedisHealth {
  private answeredAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private probing = false;

  constructor(
    private readonly redis: Redis,
    private readonly everyMs = 1000,
    /** Unanswered for this long after the last answer: not healthy. */
    private readonly staleMs = 3000,
  ) {}

  start(): void {
    if (this.timer) return;
    void this.probe();
    this.timer = setInterval(() => void this.probe(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  get healthy(): boolean {
    return this.redis.status === 'ready' && Date.now() - this.answeredAt <= this.staleMs;
  }

  private async probe(): Promise<void> {
    // One probe in flight at most: a hung Redis must not collect a queue of PINGs.
    if (this.probing || this.redis.status !== 'ready') return;
    this.probing = true;
    try {
      await this.redis.ping();
      this.answeredAt = Date.now();
    } catch {
      // Not answered (timeout, connection lost): `healthy` turns false once staleMs passes.
    } finally {
      this.probing = false;
    }
  }
}
