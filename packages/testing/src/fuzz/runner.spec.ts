import fc from 'fast-check';
import { runFuzz, type FuzzTarget, type Verdict } from './runner';

/** An async target over plain integers whose run is given per test; it records what it saw. */
function target(
  run: (x: number) => Promise<Verdict>,
  concurrency?: number,
): FuzzTarget<number> & { seen: number[] } {
  const seen: number[] = [];
  return {
    name: 'ints',
    async: true,
    ...(concurrency !== undefined ? { concurrency } : {}),
    arbitrary: fc.integer({ min: 0, max: 1_000_000 }),
    reasons: ['odd'],
    describe: (x) => String(x),
    seen,
    run: (x) => {
      seen.push(x);
      return run(x);
    },
  };
}

const tick = (x: number) => new Promise<void>((r) => setTimeout(r, x % 4));

// Runs of 2,000 inputs paced by timers: well under a second on a quiet machine, but past jest's
// default 5 s when the CI box runs the other suites beside them (two tests timed out there).
jest.setTimeout(60_000);
const verdict = (x: number): Verdict =>
  x % 2 ? { decoded: 0, malformed: ['odd'] } : { decoded: 1, malformed: [] };

describe('runFuzz with several async inputs in flight', () => {
  it('runs the same inputs as a sequential run, up to `concurrency` at once', async () => {
    let now = 0;
    let most = 0;
    const pooled = target(async (x) => {
      most = Math.max(most, ++now);
      await tick(x);
      now--;
      return verdict(x);
    }, 6);
    const r = await runFuzz(pooled, { inputs: 600, seed: 42 });
    const alone = target(async (x) => verdict(x));
    const s = await runFuzz(alone, { inputs: 600, seed: 42 });
    expect(r.failure).toBeNull();
    expect(most).toBe(6);
    expect(pooled.seen).toEqual(alone.seen); // started in order: the same input #i
    expect(r.inputs).toBe(600);
    expect(r.reasons).toEqual(s.reasons);
    expect(r.decodedInputs).toBe(s.decodedInputs);
  });

  it('replays a failing input alone from its index and shrinks it as a sequential run does', async () => {
    const bad = (x: number) => x > 500_000 && x % 7 === 0;
    const failing = (c: number) =>
      target(async (x) => {
        await tick(x);
        if (bad(x)) throw new Error(`bad ${x}`);
        return verdict(x);
      }, c);
    const pooled = await runFuzz(failing(8), { inputs: 2_000, seed: 7 });
    const sequential = await runFuzz(failing(1), { inputs: 2_000, seed: 7 });
    const first = fc.sample(fc.integer({ min: 0, max: 1_000_000 }), { numRuns: 2_000, seed: 7 });
    expect(pooled.failure?.path?.split(':')[0]).toBe(String(first.findIndex(bad)));
    expect(pooled.failure?.path).toBe(sequential.failure?.path);
    expect(pooled.failure?.input).toBe(sequential.failure?.input);
    expect(pooled.failure?.message).toMatch(/bad \d+/);
  });

  it('reports a failure that only happens among concurrent inputs, with its index', async () => {
    let now = 0;
    const t = target(async (x) => {
      now++;
      await tick(x);
      const crowded = now;
      now--;
      if (crowded >= 5) throw new Error('answered 500 under load');
      return verdict(x);
    }, 8);
    const r = await runFuzz(t, { inputs: 2_000, seed: 3 });
    expect(r.failure?.message).toMatch(/answered 500 under load .*alone it passed/);
    expect(r.failure?.path).toMatch(/^\d+$/);
    const replay = await runFuzz(t, { inputs: 1, seed: 3, path: r.failure!.path! });
    expect(replay.failure).toBeNull();
  });

  it('reports a failing check as the check, not as the input that preceded it', async () => {
    let checks = 0;
    const t = target(async (x) => {
      await tick(x);
      return verdict(x);
    }, 4);
    t.check = () => {
      if (++checks === 3) throw new Error('the bouncer pull answered 503');
    };
    const r = await runFuzz(t, { inputs: 1_000, seed: 5, checkEvery: 100 });
    expect(r.failure?.message).toBe(
      'the check after 300 inputs failed, 4 in flight: Error: the bouncer pull answered 503',
    );
    expect(r.failure?.path).toBeNull();
  });
});
