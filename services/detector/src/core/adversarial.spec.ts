/**
 * Issue 11's adversarial shapes against the detector core, each with several seeds, rates and
 * vocabularies, with and without responses. The scenarios and the judge live in
 * test/adversarial-scenarios.ts (the benchmark's time-to-detect rows use the same ones); a
 * failure lists every missed target with its numbers (late, missed, split, false alert, drift).
 */
import {
  ADVERSARIAL_CASES,
  BENIGN_CASES,
  HELD_OUT_CASES,
  buildScenario,
  judge,
  runAlerts,
  type AdversarialCase,
  type Shape,
} from '../../test/adversarial-scenarios';
import { DetectorCore } from './detector-core';

/** The long flood is ~0.5 M events and the 40× ramp ~0.25 M: well above jest's 5 s default. */
const TIMEOUT_MS = 120_000;

const RESPONSES = [
  [true, 'with responses'],
  [false, 'queries only'],
] as const;

type Row = [string, string, AdversarialCase, boolean];

function rows(cases: readonly AdversarialCase[]): Row[] {
  return cases.flatMap((c) =>
    RESPONSES.map(([withResponses, mode]): Row => [c.name, mode, c, withResponses]),
  );
}

function verdictOf(c: AdversarialCase, withResponses: boolean) {
  const built = buildScenario(c, { withResponses });
  const alerts = runAlerts(new DetectorCore({ allowlist: c.allowlist ?? [] }), built.spec);
  return { built, verdict: judge(built, alerts, c) };
}

const SHAPES: [Shape, string][] = [
  ['ramp', 'a ramp is alerted before it reaches 3× the zone’s volume, as one alert'],
  ['pulse', 'pulses give one alert that stays open between pulses'],
  ['silent-zone', 'a flood on a zone with no traffic before it is alerted at once'],
  ['nested', 'random labels under existing names are alerted'],
  ['shared', 'a flood through the users’ own resolvers is alerted'],
  ['wordlist', 'a dictionary flood whose names repeat is alerted'],
  ['replay', 'a replayed list of names is alerted'],
  ['long', 'a 30-minute flood keeps one alert and its fingerprint'],
];

describe('adversarial shapes (issue 11)', () => {
  describe.each(SHAPES)('%s: %s', (shape) => {
    const cases = rows(ADVERSARIAL_CASES.filter((c) => c.shape === shape));
    const limited = (r: Row) => !r[3] && r[2].queriesOnlyLimit !== undefined;
    // Documented limits of query-only detection (see each case's queriesOnlyLimit): expected
    // misses, so the test fails the day the detector catches them.
    const known = cases.filter(limited);
    if (known.length > 0)
      it.failing.each(known)(
        '%s, %s — known limit of query-only detection',
        (_name, _mode, c, withResponses) => {
          const { verdict } = verdictOf(c, withResponses);
          expect(verdict.violations).toEqual([]);
        },
        TIMEOUT_MS,
      );
    it.each(cases.filter((r) => !limited(r)))(
      '%s, %s',
      (_name, _mode, c, withResponses) => {
        const { verdict } = verdictOf(c, withResponses);
        expect(verdict.violations).toEqual([]);
        expect(verdict.starts).toBe(1);
      },
      TIMEOUT_MS,
    );
  });
});

describe('benign look-alikes in the new shapes (issue 11): no alert anywhere', () => {
  const known = rows(BENIGN_CASES.filter((c) => c.knownFalseAlert !== undefined));
  // Documented false alerts (see each case's knownFalseAlert): the test fails once they are gone.
  it.failing.each(known)(
    '%s, %s — known false alert',
    (_name, _mode, c, withResponses) => {
      const { verdict } = verdictOf(c, withResponses);
      expect(verdict.violations).toEqual([]);
    },
    TIMEOUT_MS,
  );
  it.each(rows(BENIGN_CASES.filter((c) => c.knownFalseAlert === undefined)))(
    '%s, %s',
    (_name, _mode, c, withResponses) => {
      const { verdict } = verdictOf(c, withResponses);
      expect(verdict.violations).toEqual([]);
    },
    TIMEOUT_MS,
  );
});

// HELD-OUT: seeds and variants kept aside for the end-of-work check of issue 11. Do not tune
// the detector against these (look at them only once the work is done); CI runs them as usual.
describe('HELD-OUT adversarial variants (issue 11 end-of-work check — do not tune against)', () => {
  it.each(rows(HELD_OUT_CASES))(
    '%s, %s',
    (_name, _mode, c, withResponses) => {
      const { verdict } = verdictOf(c, withResponses);
      expect(verdict.violations).toEqual([]);
      if (c.shape !== 'benign') expect(verdict.starts).toBe(1);
    },
    TIMEOUT_MS,
  );
});
