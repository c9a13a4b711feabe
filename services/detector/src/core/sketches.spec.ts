import { hash2 } from './hash';
import { HyperLogLog } from './hyperloglog';
import { SeenFilter } from './seen-filter';
import { SpaceSaving } from './space-saving';

const h = (s: string) => hash2(s).h1;

describe('HyperLogLog', () => {
  it('is exact while sparse and within 5 % once dense', () => {
    const small = new HyperLogLog(11);
    for (let i = 0; i < 100; i++) small.add(h(`n${i % 60}`));
    expect(small.count()).toBe(60);
    const big = new HyperLogLog(11);
    for (let i = 0; i < 200_000; i++) big.add(h(`name-${i}`));
    expect(Math.abs(big.count() - 200_000) / 200_000).toBeLessThan(0.05);
    expect(big.bytes).toBe(2048);
  });

  it('merges to the union and survives JSON', () => {
    const a = new HyperLogLog(11);
    const b = new HyperLogLog(11);
    for (let i = 0; i < 30_000; i++) a.add(h(`x${i}`));
    for (let i = 15_000; i < 45_000; i++) b.add(h(`x${i}`));
    a.merge(b);
    expect(Math.abs(a.count() - 45_000) / 45_000).toBeLessThan(0.05);
    expect(HyperLogLog.fromJSON(JSON.parse(JSON.stringify(a)) as never).count()).toBe(a.count());
  });
});

describe('SeenFilter', () => {
  it('never forgets a recent name and rarely claims an unseen one', () => {
    const f = new SeenFilter({ capacity: 50_000 });
    for (let i = 0; i < 40_000; i++) {
      const x = hash2(`host${i}`);
      f.add(x.h1, x.h2);
    }
    for (let i = 0; i < 40_000; i++) {
      const x = hash2(`host${i}`);
      expect(f.has(x.h1, x.h2)).toBe(true);
    }
    let fp = 0;
    for (let i = 0; i < 20_000; i++) {
      const x = hash2(`other${i}`);
      if (f.has(x.h1, x.h2)) fp++;
    }
    expect(fp / 20_000).toBeLessThan(0.03);
  });

  it('stays bounded through a flood of unique names and remembers the previous generation', () => {
    const f = new SeenFilter({ capacity: 10_000 });
    for (let i = 0; i < 500_000; i++) {
      const x = hash2(`flood${i}`);
      f.add(x.h1, x.h2);
    }
    // 2 generations × 10k × ~9.6 bits ≈ 24 KB, whatever the flood size.
    expect(f.bytes).toBeLessThan(30_000);
    const recent = hash2('flood499999');
    expect(f.has(recent.h1, recent.h2)).toBe(true);
    const old = hash2('flood5');
    expect(f.has(old.h1, old.h2)).toBe(false);
    const restored = SeenFilter.fromJSON(
      { capacity: 10_000 },
      JSON.parse(JSON.stringify(f)) as never,
    );
    expect(restored.has(recent.h1, recent.h2)).toBe(true);
  });
});

describe('SpaceSaving', () => {
  it('keeps the heavy hitters of a long-tailed stream', () => {
    const s = new SpaceSaving(16);
    for (let i = 0; i < 20_000; i++) {
      s.add(i % 4 === 0 ? '8.8.8.8' : i % 7 === 0 ? '4.2.2.2' : `10.0.${i % 251}.${i % 13}`);
    }
    const top = s.top(2);
    expect(top.map((t) => t.key)).toEqual(['8.8.8.8', '4.2.2.2']);
    expect(top[0]!.count - top[0]!.error).toBeLessThanOrEqual(5000);
    expect(top[0]!.count).toBeGreaterThanOrEqual(5000);
    expect(s.size).toBe(16);
  });
});
