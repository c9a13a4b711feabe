import { decodeQueryBatch, hotZoneShard, type QueryEvent } from '@sluice/contracts';
import { MAX_BATCH_BYTES, QueryBatcher, type EncodedBatch } from './query-batcher';

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
});
