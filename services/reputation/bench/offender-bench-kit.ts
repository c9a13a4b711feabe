/**
 * What the reputation offender benches share (reputation-offenders, reputation-redis-cpu):
 * a seeded generator for labels, an alert for a zone, a baseline's code loaded from a directory.
 */
import { type Alert } from '@sluice/contracts';
import type * as currentIndex from '../src';
import { type OffendersConsumer as CurrentConsumer } from '../src/kafka/offenders.consumer';
import { type BlocklistPublisher as CurrentPublisher } from '../src/kafka/blocklist.publisher';

/** The code a round runs: this checkout's, or a baseline's built `src` copy. */
export interface OffenderBenchSource {
  index: typeof currentIndex;
  Consumer: typeof CurrentConsumer;
  Publisher: typeof CurrentPublisher;
}

/** Loads a baseline's copy of the service's source (e.g. an earlier commit's `src`). */
export function loadSource(dir: string): OffenderBenchSource {
  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    index: require(dir) as typeof currentIndex,
    Consumer: (
      require(`${dir}/kafka/offenders.consumer`) as { OffendersConsumer: typeof CurrentConsumer }
    ).OffendersConsumer,
    Publisher: (
      require(`${dir}/kafka/blocklist.publisher`) as { BlocklistPublisher: typeof CurrentPublisher }
    ).BlocklistPublisher,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

// xorshift32 from a fixed seed: every run draws the same records.
let seed = 0x6a09e667;
export const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
};
/** Start the sequence again from `value` (a bench that wants the same records twice). */
export function reseed(value: number): void {
  seed = value;
}
export const label = () => (rnd().toString(36) + rnd().toString(36)).slice(0, 12);

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A `started` alert on `zone`: the guard's view of an attack under way. */
export function alertOf(zone: string, at: number): Alert {
  return {
    v: 1,
    alertId: `${zone}-alert-1`,
    zone,
    phase: 'started',
    severity: 'high',
    onset: at,
    at,
    endedAt: null,
    qps: 5000,
    baselineQps: 10,
    uniqueRate: 0.9,
    neverSeenRate: 0.9,
    randomShare: 0.9,
    nxdomainShare: 0.9,
    meanEntropy: 3.5,
    sampleNames: [],
    evidence: [],
    topResolvers: [],
    fingerprint: {
      labelLengths: {},
      alphabet: 'abc',
      labelsPerName: {},
      generator: 'randomlabel',
      qtypes: {},
    },
  };
}
