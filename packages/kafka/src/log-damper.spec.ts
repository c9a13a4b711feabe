import { LogDamper } from './log-damper';

describe('LogDamper', () => {
  it('passes the first of a run of repeats, then one per window with the count it stood for', () => {
    let now = 0;
    const d = new LogDamper(30_000, () => now);
    expect(d.admit('Connection error: ECONNREFUSED')).toEqual({ suppressed: 0 });
    for (let i = 0; i < 120; i++) {
      now += 200;
      expect(d.admit('Connection error: ECONNREFUSED')).toBeNull();
    }
    // Another message is not held back by the first one.
    expect(d.admit('Failed to connect to seed broker')).toEqual({ suppressed: 0 });
    now = 30_000;
    expect(d.admit('Connection error: ECONNREFUSED')).toEqual({ suppressed: 120 });
    now += 40_000;
    expect(d.admit('Connection error: ECONNREFUSED')).toEqual({ suppressed: 0 });
  });
});
