import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceStack, type ServiceName } from '../faults/service-stack';

jest.setTimeout(300_000);

/** The fields every log line of every service carries (service-kit's logger.ts). */
const REQUIRED = { level: 'number', time: 'number', service: 'string', msg: 'string' } as const;

/**
 * Issue 12: one log shape. The four pipeline services run as real processes (dist/main.js) at
 * LOG_LEVEL=debug, start, become ready and stop on SIGTERM; every line they wrote to stdout and
 * stderr — their own, Nest's, the shared consumer's and kafkajs' — must be one JSON object with
 * the same required fields, and `service` must name the process that wrote it.
 */
describe('every service logs one JSON shape', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-log-shape-'));
  const services: ServiceName[] = ['ingest', 'detector', 'enrichment', 'reputation'];
  const stack = new ServiceStack({
    brokers: process.env.KAFKA_BROKERS!,
    redisUrl: process.env.REDIS_URL!,
    zones: ['example.com'],
    dir,
    env: Object.fromEntries(services.map((s) => [s, { LOG_LEVEL: 'debug' }])),
  });

  afterAll(async () => {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ingest, detector, enrichment and reputation: level, time, service, msg on every line', async () => {
    await stack.init();
    const outputs = new Map<ServiceName, string>();
    for (const s of services) await stack.start(s);
    for (const s of services) {
      const d = stack.daemons.get(s)!.daemon;
      await stack.stop(s);
      outputs.set(s, d.log());
    }
    for (const [s, out] of outputs) {
      const lines = out.split('\n').filter((l) => l.trim() !== '');
      expect(`${s}: ${lines.length} lines`).not.toBe(`${s}: 0 lines`);
      for (const line of lines) {
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(line) as Record<string, unknown>;
        } catch {
          throw new Error(`${s} wrote a line that is not JSON:\n${line}`);
        }
        const shape = Object.fromEntries(Object.keys(REQUIRED).map((k) => [k, typeof parsed[k]]));
        expect({ service: s, line, shape }).toEqual({ service: s, line, shape: REQUIRED });
        expect({ line, service: parsed.service }).toEqual({ line, service: s });
        // Fields are fields, not JSON spliced after the message (reputation's old lines).
        expect({ line, fieldsInMsg: /\{".*\}$/.test(String(parsed.msg)) }).toEqual({
          line,
          fieldsInMsg: false,
        });
      }
    }
  });
});
