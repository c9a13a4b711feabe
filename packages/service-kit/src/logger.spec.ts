import { createServiceLogger } from './logger';

describe('createServiceLogger', () => {
  it('writes one JSON line per call: level, time, service, the fields and msg', () => {
    const lines: string[] = [];
    const log = createServiceLogger('replay', 'debug', { write: (s: string) => lines.push(s) });
    log.debug({ a: 1 }, 'd');
    log.info({}, 'i');
    log.warn({ namespace: 'Connection' }, 'kafka: w');
    log.error({ err: 'boom' }, 'e');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((p) => p.level)).toEqual([20, 30, 40, 50]);
    for (const p of parsed) {
      expect(typeof p.time).toBe('number');
      expect(p.service).toBe('replay');
      expect(typeof p.msg).toBe('string');
    }
    expect(parsed[2]).toMatchObject({ namespace: 'Connection', msg: 'kafka: w' });
  });

  it('drops lines below its level', () => {
    const lines: string[] = [];
    const log = createServiceLogger('replay', 'warn', { write: (s: string) => lines.push(s) });
    log.info({}, 'quiet');
    expect(lines).toEqual([]);
  });
});
