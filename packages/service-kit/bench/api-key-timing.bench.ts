/**
 * Does the API key check leak where a wrong key differs from a right one? (issue 14, Security)
 *
 *   node --require @swc-node/register packages/service-kit/bench/api-key-timing.bench.ts
 *   TIMING_SAMPLES=200000 TIMING_BATCH=64 TIMING_KEY_CHARS=40 … (defaults shown)
 *
 * dudect's method (Reparaz, Balasch, Verbauwhede 2017): two classes of wrong keys, one differing
 * from a configured key at the first character, one at the last; samples of the two classes are
 * interleaved in random order in one run (load on the shared box hits both alike), each sample
 * the wall time of TIMING_BATCH calls (hrtime; CPU time has only µs resolution). The statistic is
 * Welch's t on the samples, whole and cropped at several percentiles (long tails are the
 * scheduler, not the code); |t| > 4.5 means the two distributions differ. Kolmogorov–Smirnov D
 * is printed too. The same run measures two positive controls on the same keys — an early-exit
 * loop over the characters and JavaScript's `===` — so a leak of that size is shown to be
 * detectable by this harness on this box, and the check followed by `===` shows that a leak of
 * a few tens of ns is visible under the hashing's own noise: a small |t| for ApiKeys is only
 * evidence because the controls' |t| is large.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { ApiKeys } from '../src/api-keys';

const SAMPLES = Number(process.env.TIMING_SAMPLES ?? 200_000);
const BATCH = Number(process.env.TIMING_BATCH ?? 64);
const KEY_CHARS = Number(process.env.TIMING_KEY_CHARS ?? 40);

const key = randomBytes(KEY_CHARS).toString('base64url').slice(0, KEY_CHARS);
// Each wrong key a flat string decoded from bytes, as a request header is: the classes differ
// only in where the wrong character sits, not in how V8 holds the string.
const flip = (s: string, i: number, to: string) => {
  const b = Buffer.from(s, 'latin1');
  b[i] = (s[i] === to ? 'C' : to).charCodeAt(0);
  return b.toString('latin1');
};
const wrongFirst = flip(key, 0, 'A');
const wrongLast = flip(key, KEY_CHARS - 1, 'A');
// A second key wrong at the first character: first vs first2 is an A/A test, the level |t|
// reaches between two wrong keys whose difference sits at the same place (noise, alignment).
const wrongFirst2 = flip(key, 0, 'B');

/** Compare like a naive implementation would: stop at the first difference. */
function earlyExit(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return false;
  return true;
}

// Three other configured keys, as an operator with several bouncers has.
const keys = new ApiKeys(
  [key, ...Array.from({ length: 3 }, () => randomBytes(30).toString('base64url'))],
  'BENCH_API_KEYS',
);
let sink = 0;
const subjects: Record<string, (presented: string) => void> = {
  'ApiKeys.check (SHA-256 + timingSafeEqual)': (p) => {
    if (keys.check(p).ok) sink++;
  },
  'control: early-exit character loop': (p) => {
    if (earlyExit(key, p)) sink++;
  },
  'control: ===': (p) => {
    // Compared through a function argument so V8 cannot fold it.
    if (key === p) sink++;
  },
  // A small leak under the SHA-256's own noise: what the harness can see in a check this slow.
  'control: ApiKeys.check, then ===': (p) => {
    if (keys.check(p).ok || key === p) sink++;
  },
};

interface Stats {
  n: number;
  mean: number;
  variance: number;
}

function stats(xs: Float64Array): Stats {
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < xs.length; i++) {
    const d = xs[i]! - mean;
    mean += d / (i + 1);
    m2 += d * (xs[i]! - mean);
  }
  return { n: xs.length, mean, variance: xs.length > 1 ? m2 / (xs.length - 1) : 0 };
}

function welch(a: Float64Array, b: Float64Array): number {
  const x = stats(a);
  const y = stats(b);
  return (x.mean - y.mean) / Math.sqrt(x.variance / x.n + y.variance / y.n);
}

/** Two-sample Kolmogorov–Smirnov D on sorted samples. */
function ksD(a: Float64Array, b: Float64Array): number {
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < a.length && j < b.length) {
    const v = Math.min(a[i]!, b[j]!);
    while (i < a.length && a[i]! <= v) i++;
    while (j < b.length && b[j]! <= v) j++;
    d = Math.max(d, Math.abs(i / a.length - j / b.length));
  }
  return d;
}

const below = (xs: Float64Array, limit: number) => xs.filter((x) => x <= limit);
const quantile = (sorted: Float64Array, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

function measure(
  fn: (p: string) => void,
  a: string,
  b: string,
): { first: Float64Array; last: Float64Array } {
  for (let i = 0; i < 20_000; i++) fn(i & 1 ? a : b); // warm up the JIT
  const first = new Float64Array(SAMPLES);
  const last = new Float64Array(SAMPLES);
  let nf = 0;
  let nl = 0;
  while (nf < SAMPLES || nl < SAMPLES) {
    const takeFirst = nl >= SAMPLES || (nf < SAMPLES && randomInt(2) === 0);
    const p = takeFirst ? a : b;
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < BATCH; k++) fn(p);
    const ns = Number(process.hrtime.bigint() - t0) / BATCH;
    if (takeFirst) first[nf++] = ns;
    else last[nl++] = ns;
  }
  return { first, last };
}

const runs: [string, (p: string) => void, string, string][] = [
  ...Object.entries(subjects).map(
    ([name, fn]) =>
      [name, fn, wrongFirst, wrongLast] as [string, (p: string) => void, string, string],
  ),
  [
    'A/A: ApiKeys.check, first vs another first',
    subjects[Object.keys(subjects)[0]!]!,
    wrongFirst,
    wrongFirst2,
  ],
];
const rows: string[] = [];
for (const [name, fn, a, b] of runs) {
  const cpu = process.cpuUsage();
  const { first, last } = measure(fn, a, b);
  const cpuS = (process.cpuUsage(cpu).user + process.cpuUsage(cpu).system) / 1e6;
  const all = Float64Array.from([...first, ...last]).sort();
  const sf = Float64Array.from(first).sort();
  const sl = Float64Array.from(last).sort();
  const ts = [1, 0.99, 0.9, 0.5].map((q) => {
    const limit = quantile(all, q);
    return `${q === 1 ? 'all' : `p${q * 100}`} ${welch(below(first, limit), below(last, limit)).toFixed(2)}`;
  });
  const maxT = Math.max(
    ...[1, 0.99, 0.9, 0.5].map((q) => {
      const limit = quantile(all, q);
      return Math.abs(welch(below(first, limit), below(last, limit)));
    }),
  );
  rows.push(
    `| ${name} | ${SAMPLES.toLocaleString('en')} × ${BATCH} | ${stats(first).mean.toFixed(1)} / ${stats(last).mean.toFixed(1)} | ${quantile(sf, 0.5).toFixed(1)} / ${quantile(sl, 0.5).toFixed(1)} | ${ts.join(', ')} | ${maxT.toFixed(2)} ${maxT > 4.5 ? '(differ)' : '(no difference)'} | ${ksD(sf, sl).toFixed(4)} | ${cpuS.toFixed(1)} s |`,
  );
  process.stderr.write(`${rows[rows.length - 1]}\n`);
}

console.log(
  `key ${KEY_CHARS} characters, 4 keys configured; wrong keys differ at character 1 ("first") or ${KEY_CHARS} ("last"); ns per call`,
);
console.log(
  '| comparison | samples per class × calls each | mean ns, first / last | median ns, first / last | Welch t (cropped at) | max abs t | KS D | CPU |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
if (sink !== 0) throw new Error('a wrong key was accepted');
