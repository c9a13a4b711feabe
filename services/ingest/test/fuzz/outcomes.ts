import { type QueryEvent } from '@sluice/contracts';
import { type Verdict } from '@sluice/testing';
import { type IngestSink, type IngestTally } from '../../src/core/sources';
import { checkRecord } from './dns.target';

/**
 * What a source made of one input, in order: records (as compact strings, so two runs can be
 * compared) and malformed reasons. Records are checked against the QueryEvent contract.
 */
export class Outcomes implements IngestSink {
  readonly log: string[] = [];
  records = 0;

  constructor(private readonly where: string) {}

  record(e: QueryEvent): void {
    checkRecord(e, this.where);
    this.records++;
    this.log.push(
      `R ${e.ts} ${e.resolver} ${e.resolverPort} ${e.transport} ${e.qname} ${e.qtype} ${e.qclass} ${e.id} ${e.rcode} ${e.zone}`,
    );
  }

  malformed(reason: string): void {
    this.log.push(`M ${reason}`);
  }
}

/** The verdict from a source's own counters: records, ignored units and malformed reasons. */
export function tallyVerdict(tally: IngestTally, cleanEnd: boolean): Verdict {
  const malformed: string[] = [];
  for (const [reason, n] of tally.malformed) for (let i = 0; i < n; i++) malformed.push(reason);
  // A stream that ended cleanly is itself a decoded unit (an empty capture is not an error).
  return { decoded: tally.records + (cleanEnd ? 1 : 0), ignored: tally.ignored, malformed };
}

/** Two runs of the same bytes must agree (e.g. cut into different chunks). */
export function sameOutcomes(a: Outcomes, b: Outcomes, what: string): void {
  if (a.log.length === b.log.length && a.log.every((line, i) => line === b.log[i])) return;
  const i = a.log.findIndex((line, k) => line !== b.log[k]);
  throw new Error(
    `${what}: outcomes differ at #${i}: ${a.log[i] ?? '(none)'} vs ${b.log[i] ?? '(none)'} (${a.log.length} vs ${b.log.length})`,
  );
}
