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

  it('gives the same sketch whatever size it is told to expect', () => {
    for (const n of [0, 10, 100, 127, 128, 129, 500]) {
      const plain = new HyperLogLog(11);
      for (let i = 0; i < n; i++) plain.add(h(`k${i % Math.max(1, n - 3)}`));
      for (const expected of [0, 5, n, 128, 10_000]) {
        const hinted = new HyperLogLog(11, expected);
        for (let i = 0; i < n; i++) hinted.add(h(`k${i % Math.max(1, n - 3)}`));
        expect(hinted.toJSON()).toEqual(plain.toJSON());
        expect(hinted.count()).toBe(plain.count());
      }
    }
  });

  it('loads a stored sparse list past the sparse limit as a dense sketch', () => {
    const sparse = Array.from({ length: 600 }, (_, i) => h(`over${i}`) >>> 0);
    const loaded = HyperLogLog.fromJSON({ p: 11, sparse });
    expect(loaded.bytes).toBe(2048);
    expect(Math.abs(loaded.count() - 600) / 600).toBeLessThan(0.1);
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

describe('SeenFilter probe positions', () => {
  // The walk that replaced a division per probe must set exactly the bits the formula names:
  // checkpoints written before it load, and lookups answer as before.
  const direct = (h1: number, h2: number, m: number, k: number) => {
    const bits = new Uint32Array(m / 32);
    for (let i = 0; i < k; i++) {
      const bit = ((h1 + Math.imul(i, h2)) >>> 0) % m;
      bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    return Buffer.from(bits.buffer).toString('base64');
  };
  it.each([64, 4096, 100_000, 2_000_000])(
    'match ((h1 + i·h2) mod 2^32) mod m at capacity %i',
    (capacity) => {
      let state = 0x2545f491;
      const next = () => (state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0);
      for (let trial = 0; trial < 300; trial++) {
        // Extremes too: hashes at the ends of the signed range, steps that wrap on every probe.
        const h1 = trial % 7 === 0 ? -1 : trial % 11 === 0 ? 0x7fffffff : next();
        const h2 = trial % 5 === 0 ? -2 : trial % 13 === 0 ? 0 : next();
        const f = new SeenFilter({ capacity, initialCapacity: capacity });
        f.add(h1, h2);
        const { current } = f.toJSON();
        const m = (Buffer.from(current.bits, 'base64').byteLength / 4) * 32;
        const k = Math.round((-Math.log(0.01) / Math.LN2 ** 2) * Math.LN2);
        expect(current.bits).toBe(direct(h1, h2, m, k));
        expect(f.has(h1, h2)).toBe(true);
      }
    },
  );
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
