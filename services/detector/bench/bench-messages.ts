import { encodeQueryBatch, type QueryEvent } from '@sluice/contracts';

/** Kafka-shaped input: one QueryBatch per zone and second, as the ingest publishes. */
export function toMessages(
  events: Iterable<QueryEvent>,
): { key: string; value: Buffer; count: number }[] {
  const out: { key: string; value: Buffer; count: number }[] = [];
  let slice: QueryEvent[] = [];
  let sec = -1;
  const flush = () => {
    const by = new Map<string, QueryEvent[]>();
    for (const e of slice) {
      let l = by.get(e.zone);
      if (!l) by.set(e.zone, (l = []));
      l.push(e);
    }
    // ≤ 500 events per message, like the ingest's batches: well under the broker's 1 MB limit.
    for (const [zone, all] of by)
      for (let i = 0; i < all.length; i += 500) {
        const list = all.slice(i, i + 500);
        out.push({
          key: zone,
          value: encodeQueryBatch({ v: 1, source: 'bench', zone, events: list }),
          count: list.length,
        });
      }
    slice = [];
  };
  for (const e of events) {
    const s = Math.floor(e.ts / 1000);
    if (s !== sec && slice.length) flush();
    sec = s;
    slice.push(e);
  }
  flush();
  return out;
}
