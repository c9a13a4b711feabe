/**
 * Attack names from generators written here, from descriptions of the attack classes, not from
 * traffic-sim's stream kinds (which the detector was tuned on): digits only, a random label under
 * a fixed host, word + word + number, long base32 (tunnel-like), UUID fragments, short random
 * labels, three random labels deep. Each is mixed into traffic-sim's benign traffic at half and
 * at five times the zone's own rate, from thousands of resolvers, and must be alerted within two
 * seconds of its onset (event time) with no alert anywhere else.
 */
import { type QueryEvent } from '@sluice/contracts';
import { simulate, zoneName } from '@sluice/traffic-sim';
import { DetectorCore } from './detector-core';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const DURATION_MS = 5 * 60_000;
const ONSET_MS = 3 * 60_000;
const ATTACK_MS = 60_000;
const ZONES = 4;
const BENIGN_QPS = 400;

/** A small LCG of its own: the names must not share traffic-sim's generator either. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const ALNUM = `${LOWER}0123456789`;
const HEX = '0123456789abcdef';
const BASE32 = `${LOWER}234567`;
const WORDS =
  'sun moon river stone cloud maple tiger amber delta echo falcon harbor ivory jade lotus nova orbit pixel quartz raven'.split(
    ' ',
  );

type Gen = (rnd: () => number, zone: string) => string;
const str = (rnd: () => number, alphabet: string, n: number) => {
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[Math.floor(rnd() * alphabet.length)];
  return out;
};
const word = (rnd: () => number) => WORDS[Math.floor(rnd() * WORDS.length)]!;

const CLASSES: [string, Gen][] = [
  ['digits only, 8–10', (r, z) => `${str(r, '0123456789', 8 + Math.floor(r() * 3))}.${z}`],
  ['a random label under a fixed host', (r, z) => `${str(r, ALNUM, 8)}.cdn.${z}`],
  ['word + word + number', (r, z) => `${word(r)}${word(r)}${Math.floor(r() * 100)}.${z}`],
  ['26 base32 characters', (r, z) => `${str(r, BASE32, 26)}.${z}`],
  ['UUID fragments', (r, z) => `${str(r, HEX, 8)}-${str(r, HEX, 4)}-${str(r, HEX, 4)}.${z}`],
  ['4–5 random letters', (r, z) => `${str(r, LOWER, 4 + Math.floor(r() * 2))}.${z}`],
  [
    'three random labels deep',
    (r, z) => `${str(r, ALNUM, 6)}.${str(r, LOWER, 5)}.${str(r, LOWER, 3)}.${z}`,
  ],
];

function attackEvents(gen: Gen, seed: number, qps: number, resolvers: number): QueryEvent[] {
  const rnd = lcg(seed * 7919 + 1);
  const victim = zoneName(0);
  const out: QueryEvent[] = [];
  for (let t = 0; t < ATTACK_MS; t += 1000 / qps) {
    const r = Math.floor(rnd() * resolvers);
    out.push({
      ts: T0 + ONSET_MS + t,
      resolver: `100.${64 + (r >> 16)}.${(r >> 8) & 255}.${r & 255}`,
      resolverPort: 1024 + Math.floor(rnd() * 60_000),
      transport: 'udp',
      qname: gen(rnd, victim),
      qtype: rnd() < 0.8 ? 1 : 28,
      qclass: 1,
      rd: false,
      cd: false,
      do: true,
      ednsSize: 1232,
      id: Math.floor(rnd() * 65_536),
      zone: victim,
      rcode: 3,
      ancount: 0,
    });
  }
  return out;
}

const CASES = CLASSES.flatMap(([name, gen], i) =>
  [
    { factor: 0.5, resolvers: 3_000 },
    { factor: 5, resolvers: 20_000 },
  ].map(({ factor, resolvers }) => ({ name, gen, seed: 101 + i, factor, resolvers })),
);

describe('attack classes from generators written apart from traffic-sim', () => {
  it.each(CASES.map((c) => [c.name, c.factor, c.resolvers, c] as const))(
    '%s at %s× the zone’s rate from %s resolvers: alerted within 2 s, nothing else',
    (_name, factor, resolvers, c) => {
      const benign = [
        ...simulate({
          seed: c.seed,
          startTime: T0,
          durationMs: DURATION_MS,
          zones: ZONES,
          benignQps: BENIGN_QPS,
          withResponses: true,
        }),
      ];
      const victim = zoneName(0);
      const zoneQps = benign.filter((e) => e.zone === victim).length / (DURATION_MS / 1000);
      const qps = Math.max(5, Math.round(zoneQps * factor));
      const events = [...benign, ...attackEvents(c.gen, c.seed, qps, resolvers)].sort(
        (a, b) => a.ts - b.ts,
      );
      const core = new DetectorCore();
      const started = [];
      for (let i = 0; i < events.length; i += 1000)
        started.push(...core.process(0, events.slice(i, i + 1000)).alerts);
      started.push(...core.drain(0, 60_000).alerts);
      const starts = started.filter((a) => a.phase === 'started');
      const elsewhere = starts
        .filter((a) => a.zone !== victim || a.at < T0 + ONSET_MS)
        .map((a) => `${a.zone} at +${(a.at - T0) / 1000} s`);
      expect(elsewhere).toEqual([]);
      const first = starts.find((a) => a.zone === victim);
      expect(first).toBeDefined();
      expect(first!.at - (T0 + ONSET_MS)).toBeLessThanOrEqual(2_000);
    },
    60_000,
  );
});
