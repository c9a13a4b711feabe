import {
  decodeQueryBatch,
  decodeQueryColumns,
  hotZoneShard,
  type QueryEvent,
} from '@sluice/contracts';
import { MAX_BATCH_BYTES, QueryBatcher, type EncodedBatch } from './query-batcher';

/** Partitions by a toy hash of the zone: the batcher takes any (the service's is keyPartitionOf). */
const toyPartitionOf = (n: number) => (zone: string) => {
  let h = 0;
  for (let i = 0; i < zone.length; i++) h = (h * 31 + zone.charCodeAt(i)) >>> 0;
  return h % n;
};

function event(i: number, zone: string, label = `q${i}`): QueryEvent {
  return {
    ts: 1_700_000_000_000 + i,
    resolver: `2001:db8::${(i % 65_536).toString(16)}`,
    resolverPort: 40_000 + (i % 1000),
    transport: 'udp',
    qname: `${label}.${zone}`,
    qtype: 1,
    qclass: 1,
    rd: true,
    cd: false,
    do: false,
    ednsSize: 1232,
    id: i & 0xffff,
    zone,
    rcode: null,
  };
}

describe('QueryBatcher', () => {
  it('closes a batch at maxEvents, one batch per zone, events in order', () => {
    const out: EncodedBatch[] = [];
    const batcher = new QueryBatcher((b) => out.push(b), 3, 100);
    for (let i = 0; i < 7; i++) batcher.add(event(i, i % 2 ? 'b.example' : 'a.example'), 'src');
    expect(out.map((b) => [b.zone, b.events])).toEqual([
      ['a.example', 3],
      ['b.example', 3],
    ]);
    expect(decodeQueryBatch(out[0]!.value).events.map((e) => e.id)).toEqual([0, 2, 4]);
    batcher.drain();
    expect(out.map((b) => b.events)).toEqual([3, 3, 1]);
    expect(batcher.heldEvents).toBe(0);
  });

  it('closes a batch early at maxBytes so long names cannot approach the 1 MiB message limit', () => {
    const out: EncodedBatch[] = [];
    const batcher = new QueryBatcher((b) => out.push(b), 2000, 80_000);
    const longLabel = Array.from({ length: 3 }, () => 'x'.repeat(63)).join('.');
    for (let i = 0; i < 2000; i++) batcher.add(event(i, 'victim.example', `${longLabel}${i}`), 's');
    batcher.drain();
    expect(out.length).toBeGreaterThan(1);
    expect(out.reduce((n, b) => n + b.events, 0)).toBe(2000);
    for (const b of out) {
      // The batch that crosses the limit closes: at most one event (≤ ~320 bytes) past it.
      expect(b.value.length).toBeLessThan(MAX_BATCH_BYTES + 1024);
      expect(decodeQueryBatch(b.value).events).toHaveLength(b.events);
    }
    expect(out[0]!.value.length).toBeGreaterThanOrEqual(MAX_BATCH_BYTES - 1024);
  });

  it('keeps short-name traffic to maxEvents per batch (the byte cap does not bite)', () => {
    const out: EncodedBatch[] = [];
    const batcher = new QueryBatcher((b) => out.push(b), 2000, 80_000);
    for (let i = 0; i < 4000; i++) batcher.add(event(i, 'victim.example'), 's');
    expect(out.map((b) => b.events)).toEqual([2000, 2000]);
  });

  it('cuts a hot zone’s batches per shard of the name, keyed zone#shard, the others per zone', () => {
    const out: EncodedBatch[] = [];
    const hot = new Map([['hot.example', 4]]);
    const batcher = new QueryBatcher((b) => out.push(b), 2000, 80_000, MAX_BATCH_BYTES, hot);
    for (let i = 0; i < 400; i++)
      batcher.add(event(i, i % 4 ? 'hot.example' : 'cold.example'), 's');
    batcher.drain();
    const cold = out.filter((b) => !b.hot);
    expect(cold.map((b) => [b.key, b.events])).toEqual([['cold.example', 100]]);
    const shards = out.filter((b) => b.hot);
    expect(shards.map((b) => b.key).sort()).toEqual([0, 1, 2, 3].map((i) => `hot.example#${i}`));
    for (const b of shards) {
      const shard = Number(b.key.split('#')[1]);
      const events = decodeQueryBatch(b.value).events;
      expect(events.every((e) => hotZoneShard(e.qname, 'hot.example', 4) === shard)).toBe(true);
      expect(b.zone).toBe('hot.example');
    }
    expect(shards.reduce((n, b) => n + b.events, 0)).toBe(300);
  });

  it('with partitionOf, batches per partition: every row keeps its zone and its order', () => {
    const out: EncodedBatch[] = [];
    const zones = Array.from({ length: 50 }, (_, i) => `z${i}.example`);
    const partitionOf = toyPartitionOf(6);
    const batcher = new QueryBatcher(
      (b) => out.push(b),
      200,
      80_000,
      MAX_BATCH_BYTES,
      null,
      partitionOf,
    );
    const sent: QueryEvent[] = [];
    for (let i = 0; i < 3000; i++) {
      // Zipf-like: low zones busy, high ones rare; apex queries and relative names both
      const zone =
        zones[Math.floor(zones.length * (i % 7 === 0 ? (i % 50) / 50 : ((i * 13) % 10) / 100))]!;
      const e = i % 11 === 0 ? { ...event(i, zone), qname: zone } : event(i, zone);
      sent.push(e);
      batcher.add(e, 'src');
    }
    batcher.drain();
    expect(out.reduce((n, b) => n + b.events, 0)).toBe(3000);
    // At most one open batch per partition: 3000 events in batches of 200 over 6 partitions.
    expect(out.length).toBeLessThanOrEqual(3000 / 200 + 6);
    const received = new Map<string, QueryEvent[]>();
    for (const b of out) {
      expect(b.hot).toBe(false);
      expect(b.partition).toBe(partitionOf(b.zone));
      expect(b.key).toBe(b.zone);
      const batch = decodeQueryBatch(b.value);
      expect(batch.zone).toBe(b.zone);
      for (const e of batch.events) {
        // every zone of a batch is bound for the batch's partition
        expect(partitionOf(e.zone)).toBe(b.partition);
        received.set(e.zone, [...(received.get(e.zone) ?? []), e]);
      }
    }
    // Per zone, exactly what was sent, in the order it was sent (names and zones as they were).
    for (const zone of new Set(sent.map((e) => e.zone)))
      expect(received.get(zone)).toEqual(
        sent.filter((e) => e.zone === zone).map((e) => ({ ...e, ancount: null })),
      );
    // The columnar decoder gives every row its zone too.
    for (const b of out) {
      const c = decodeQueryColumns(b.value);
      const events = decodeQueryBatch(b.value).events;
      for (let i = 0; i < c.count; i++) {
        expect(c.zoneOf(i)).toBe(events[i]!.zone);
        expect(c.qname(i)).toBe(events[i]!.qname);
      }
    }
  });

  it('with partitionOf, a hot zone is still cut per shard and keyed zone#shard', () => {
    const out: EncodedBatch[] = [];
    const hot = new Map([['hot.example', 2]]);
    const batcher = new QueryBatcher(
      (b) => out.push(b),
      2000,
      80_000,
      MAX_BATCH_BYTES,
      hot,
      toyPartitionOf(3),
    );
    for (let i = 0; i < 100; i++)
      batcher.add(event(i, i % 2 ? 'hot.example' : `c${i % 3}.example`), 's');
    batcher.drain();
    const shards = out.filter((b) => b.hot);
    expect(shards.map((b) => b.key).sort()).toEqual(['hot.example#0', 'hot.example#1']);
    expect(shards.every((b) => b.partition === undefined)).toBe(true);
    const cold = out.filter((b) => !b.hot);
    expect(cold.every((b) => b.partition !== undefined)).toBe(true);
    expect(cold.reduce((n, b) => n + b.events, 0)).toBe(50);
    expect(shards.reduce((n, b) => n + b.events, 0)).toBe(50);
  });
});
