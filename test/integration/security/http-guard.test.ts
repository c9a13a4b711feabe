import { type Kafka } from '@sluice/kafka';
import { testKafka } from '@sluice/testing';
import { loadEnrichmentConfig } from '../../../services/enrichment/src/config/enrichment.config';
import { loadReputationConfig } from '../../../services/reputation/src/config/reputation.config';
import {
  enrichmentKind,
  raw,
  reputationKind,
  type GuardedService,
  type GuardedServiceKind,
} from './security-services';

/**
 * Issue 14, Security: the reputation feed and the enrichment report API behind the same guard
 * (service-kit's httpGuardMiddleware) — API keys, size limits, rate limit — each service started
 * for real against the broker and Redis, asked over loopback sockets.
 */
jest.setTimeout(90_000);

const KEY_A = 'client-a-0123456789abcdef';
const KEY_B = 'client-b-fedcba9876543210-longer';

describe.each([reputationKind, enrichmentKind])('$name: HTTP guard', (kind: GuardedServiceKind) => {
  let kafka: Kafka;
  const started: GuardedService[] = [];
  const start = async (env: Record<string, string>) => {
    const s = await kind.start(kafka, env);
    started.push(s);
    return s;
  };

  beforeAll(() => {
    kafka = testKafka(`security-${kind.name}`);
  });

  afterAll(async () => {
    for (const s of started) await s.close();
  });

  describe('two keys, rate limit off', () => {
    let svc: GuardedService;
    beforeAll(async () => {
      svc = await start({
        [kind.keySetting]: `${KEY_A},${KEY_B}`,
        HTTP_RATE_LIMIT: '0',
        HTTP_MAX_URL_BYTES: '1024',
        HTTP_MAX_HEADER_BYTES: '8192',
        HTTP_MAX_BODY_BYTES: '1024',
      });
    });

    it('lets each configured key in', async () => {
      for (const key of [KEY_A, KEY_B]) {
        const r = await raw(svc.url, kind.path, { headers: { 'X-Api-Key': key } });
        expect(r.status).toBe(200);
        expect(r.headers['x-content-type-options']).toBe('nosniff');
      }
    });

    it('answers a missing key 401 (naming the header) and a wrong one 403, whatever its length', async () => {
      const missing = await raw(svc.url, kind.path);
      expect(missing.status).toBe(401);
      expect(missing.headers['www-authenticate']).toBe('ApiKey header="X-Api-Key"');
      expect(JSON.parse(missing.body)).toMatchObject({ message: 'missing X-Api-Key header' });
      expect((await raw(svc.url, kind.path, { headers: { 'X-Api-Key': '' } })).status).toBe(401);
      for (const wrong of [
        'x',
        KEY_A.slice(0, -1),
        `${KEY_A}0`,
        KEY_A.toUpperCase(),
        `${KEY_A}, ${KEY_B}`,
        'k'.repeat(4000),
      ]) {
        const r = await raw(svc.url, kind.path, { headers: { 'X-Api-Key': wrong } });
        expect({ wrong: wrong.slice(0, 40), status: r.status }).toEqual({
          wrong: wrong.slice(0, 40),
          status: 403,
        });
        expect(r.body).not.toContain(KEY_A);
      }
    });

    it('guards every other path too, so unknown routes are not told apart without a key', async () => {
      for (const path of ['/', '/nope', '/HEALTHZ', '/healthz/../v1/blocklist', '/metrics.txt'])
        expect((await raw(svc.url, path)).status).toBe(401);
    });

    it('serves /healthz, /readyz and /metrics without a key, as probes and Prometheus expect', async () => {
      expect((await raw(svc.url, '/healthz')).status).toBe(200);
      expect([200, 503]).toContain((await raw(svc.url, '/readyz')).status);
      const metrics = await raw(svc.url, '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.body).toMatch(/^sluice_ready\{/m);
    });

    it('answers 414 for a request target over HTTP_MAX_URL_BYTES', async () => {
      const path = `${kind.path}&pad=${'a'.repeat(1100)}`;
      const r = await raw(svc.url, path, { headers: { 'X-Api-Key': KEY_A } });
      expect(r.status).toBe(414);
    });

    it('answers 431 for headers over HTTP_MAX_HEADER_BYTES', async () => {
      const r = await raw(svc.url, kind.path, {
        headers: { 'X-Api-Key': KEY_A, 'X-Pad': 'p'.repeat(9000) },
      });
      expect(r.status).toBe(431);
      // under the limit the same request passes
      const ok = await raw(svc.url, kind.path, {
        headers: { 'X-Api-Key': KEY_A, 'X-Pad': 'p'.repeat(4000) },
      });
      expect(ok.status).toBe(200);
    });

    it('answers 413 for a body over HTTP_MAX_BODY_BYTES, declared or streamed, and closes', async () => {
      const declared = await raw(svc.url, kind.path, {
        method: 'POST',
        headers: { 'X-Api-Key': KEY_A, 'Content-Length': String(10_000_000) },
      });
      expect(declared.status).toBe(413);
      expect(declared.headers.connection).toBe('close');
      const streamed = await raw(svc.url, kind.path, {
        headers: { 'X-Api-Key': KEY_A, 'Transfer-Encoding': 'chunked' },
        body: Array.from({ length: 8 }, () => Buffer.alloc(512, 0x41)),
      });
      expect(streamed.status).toBe(413);
      // a small streamed body is read and the request served
      const small = await raw(svc.url, kind.path, {
        headers: { 'X-Api-Key': KEY_A, 'Transfer-Encoding': 'chunked' },
        body: [Buffer.from('hello')],
      });
      expect(small.status).toBe(200);
    });
  });

  describe('key A revoked (removed from the list), 5 requests a minute', () => {
    let svc: GuardedService;
    beforeAll(async () => {
      svc = await start({
        [kind.keySetting]: KEY_B,
        HTTP_RATE_LIMIT: '5',
        HTTP_RATE_WINDOW_MS: '60000',
      });
    });

    it('rejects the revoked key, throttles guessing, answers 429 with Retry-After, keeps probes and scrapes', async () => {
      const revoked = await raw(svc.url, kind.path, { headers: { 'X-Api-Key': KEY_A } });
      expect(revoked.status).toBe(403);
      expect(JSON.parse(revoked.body)).toMatchObject({ message: 'unknown or revoked API key' });
      for (let i = 0; i < 4; i++) {
        const r = await raw(svc.url, kind.path, { headers: { 'X-Api-Key': KEY_B } });
        expect(r.status).toBe(200);
      }
      // the sixth request in the window: refused before the key is even looked at
      for (const key of [KEY_B, 'guess-0000000000000000']) {
        const limited = await raw(svc.url, kind.path, {
          // a forged X-Forwarded-For does not make a new client (HTTP_TRUST_PROXY=false)
          headers: { 'X-Api-Key': key, 'X-Forwarded-For': '198.51.100.7' },
        });
        expect(limited.status).toBe(429);
        const retryAfter = Number(limited.headers['retry-after']);
        expect(retryAfter).toBeGreaterThan(0);
        expect(retryAfter).toBeLessThanOrEqual(60);
      }
      expect((await raw(svc.url, '/healthz')).status).toBe(200);
      expect((await raw(svc.url, '/metrics')).status).toBe(200);
    });
  });

  describe('no keys configured', () => {
    it('answers 503 naming the setting, and still serves /healthz', async () => {
      const svc = await start({ [kind.keySetting]: '', HTTP_RATE_LIMIT: '0' });
      const r = await raw(svc.url, kind.path, { headers: { 'X-Api-Key': KEY_A } });
      expect(r.status).toBe(503);
      expect(r.body).toContain(`set ${kind.keySetting}`);
      expect((await raw(svc.url, '/healthz')).status).toBe(200);
    });
  });
});

describe('HTTP guard settings: a bad value stops the service naming it, never echoing a key', () => {
  const base = { KAFKA_BROKERS: '127.0.0.1:9092' };
  it.each([
    ['FEED_API_KEYS', 'short-key'],
    ['FEED_API_KEYS', `${KEY_A},has space in it 0123`],
    ['REPORT_API_KEYS', 'short-key'],
    ['HTTP_TRUST_PROXY', 'true'],
    ['HTTP_TRUST_PROXY', 'proxy.example'],
    ['HTTP_RATE_LIMIT', '-1'],
    ['HTTP_RATE_WINDOW_MS', '0'],
    ['HTTP_MAX_URL_BYTES', '10'],
    ['HTTP_MAX_HEADER_BYTES', 'lots'],
    ['HTTP_MAX_BODY_BYTES', '-5'],
  ])('%s=%s', (name, value) => {
    for (const load of [loadReputationConfig, loadEnrichmentConfig]) {
      if (name === 'FEED_API_KEYS' && load === loadEnrichmentConfig) continue;
      if (name === 'REPORT_API_KEYS' && load === loadReputationConfig) continue;
      let message = '';
      try {
        load({ ...base, [name]: value });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain(`${name}:`);
      if (name.endsWith('_KEYS')) {
        expect(message).not.toContain(value);
        expect(message).not.toContain(KEY_A);
      }
    }
  });

  it('accepts hop counts and proxy networks for HTTP_TRUST_PROXY', () => {
    expect(loadReputationConfig({ ...base, HTTP_TRUST_PROXY: '1' }).HTTP_TRUST_PROXY).toBe(1);
    expect(
      loadEnrichmentConfig({ ...base, HTTP_TRUST_PROXY: '10.0.0.0/8, loopback' }).HTTP_TRUST_PROXY,
    ).toEqual(['10.0.0.0/8', 'loopback']);
  });
});
