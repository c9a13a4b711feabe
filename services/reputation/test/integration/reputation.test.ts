import {
  encodeMessage,
  enrichedOffenderSchema,
  blocklistEntrySchema,
  type EnrichedOffender,
} from '@sluice/contracts';
import { type BatchingProducer, type Kafka } from '@sluice/kafka';
import { createTestTopics, testKafka, uniqueName, waitFor } from '@sluice/testing';
import { offender } from '../fixtures/offenders';
import { serviceConfig, serviceTopics, startService, type RunningService } from './service.helpers';

/** Whole service against the real broker and Redis: records in, blocklist out on every channel. */
// The project-level testTimeout does not apply per project in Jest 30; these talk to real services.
jest.setTimeout(60_000);

describe('reputation service (Kafka + Redis + HTTP feed)', () => {
  let kafka: Kafka;
  let producer: BatchingProducer;
  let svc: RunningService;
  let input: string;
  let output: string;
  let deadLetters: string;
  const topicValues = new Map<string, string | null>();
  let topicConsumer: ReturnType<Kafka['consumer']>;

  const publish = async (records: EnrichedOffender[]) => {
    await producer.send(
      input,
      records.map((r) => ({ key: r.zone, value: encodeMessage(enrichedOffenderSchema, r) })),
    );
    await producer.flush();
  };
  const stream = async (q: string) => {
    const r = await svc.get(`/v1/decisions/stream?${q}`);
    expect(r.status).toBe(200);
    return JSON.parse(r.body) as {
      new: Array<{ id: number; entryId: string; scope: string; value: string; type: string }>;
      deleted: Array<{ id: number; entryId: string }>;
      cursor: string;
    };
  };

  beforeAll(async () => {
    kafka = testKafka('reputation-test');
    ({ input, output, producer } = await serviceTopics(kafka, 'rep'));
    [deadLetters] = await createTestTopics(kafka, ['rep-dlq'], { partitions: 1 });
    svc = await startService(
      serviceConfig({
        REPUTATION_INPUT_TOPIC: input,
        REPUTATION_OUTPUT_TOPIC: output,
        REPUTATION_DEADLETTER_TOPIC: deadLetters,
        BLOCK_TTL_MS: '4000',
        BLOCK_SWEEP_MS: '200',
        // The opt-in path: outright network blocks, for networks without legitimate traffic.
        BLOCK_OUTRIGHT_NETWORKS: 'true',
      }),
    );
    topicConsumer = kafka.consumer({ groupId: uniqueName('rep-out-reader') });
    await topicConsumer.connect();
    await topicConsumer.subscribe({ topic: output, fromBeginning: true });
    await topicConsumer.run({
      eachMessage: ({ message }) => {
        topicValues.set(
          message.key!.toString(),
          message.value === null ? null : message.value.toString(),
        );
        return Promise.resolve();
      },
    });
  }, 60_000);

  afterAll(async () => {
    await topicConsumer?.disconnect();
    await svc?.close();
    await producer?.disconnect();
  }, 60_000);

  it('requires an API key', async () => {
    expect((await svc.get('/v1/decisions/stream?startup=true', null)).status).toBe(401);
    expect((await svc.get('/v1/decisions/stream?startup=true', 'wrong')).status).toBe(403);
  });

  it('turns offenders into entries with the right scopes; public and mixed resolvers are never refused a zone', async () => {
    const start = await stream('startup=true');
    expect(start.new).toEqual([]);
    await publish([
      // A small resolver sending almost only attack names to victim.test.
      offender({
        resolver: '10.1.1.1',
        zone: 'victim.test',
        attack: 950,
        total: 1000,
        prefix: '10.1.1.0/24',
      }),
      // A big ISP resolver: more attack queries in absolute terms, but 5% of its traffic.
      offender({
        resolver: '10.2.2.2',
        zone: 'victim.test',
        attack: 2000,
        total: 40_000,
        prefix: '10.2.2.0/24',
      }),
      // Google (a Mirai default) hammering two zones: only its traffic to those zones is blocked.
      offender({
        resolver: '8.8.8.8',
        zone: 'victim.test',
        attack: 900,
        total: 1000,
        asn: 15169,
        prefix: '8.8.8.0/24',
        kind: 'mirai-default',
        operator: 'Google',
      }),
      offender({
        resolver: '8.8.8.8',
        zone: 'other-victim.test',
        attack: 900,
        total: 1000,
        asn: 15169,
        prefix: '8.8.8.0/24',
        kind: 'mirai-default',
        operator: 'Google',
      }),
      // Three resolvers of one /24: the prefix rolls up.
      ...['10.9.9.1', '10.9.9.2', '10.9.9.3'].map((r) =>
        offender({
          resolver: r,
          zone: 'victim.test',
          attack: 400,
          total: 420,
          asn: 64501,
          prefix: '10.9.9.0/24',
        }),
      ),
    ]);
    const ids = await waitFor(
      async () => {
        const s = await stream('startup=true');
        const ids = s.new.map((d) => d.entryId).sort();
        return ids.includes('p:10.9.9.0/24') ? ids : undefined;
      },
      20_000,
      'prefix entry',
    );
    expect(ids).toContain('rz:10.1.1.1|victim.test');
    expect(ids).toContain('rz:8.8.8.8|victim.test');
    expect(ids).toContain('rz:8.8.8.8|other-victim.test');
    expect(ids).not.toContain('r:8.8.8.8');
    expect(ids).not.toContain('rz:10.2.2.2|victim.test');
    expect(ids).not.toContain('p:8.8.8.0/24');
    expect(ids).not.toContain('a:15169');
    // Zone-scoped rollups, and (opted in) outright ones for the network without legitimate
    // traffic; the ASN carries the prefixes that let RPZ and dnsdist enforce it.
    expect(ids).toContain('pz:10.9.9.0/24|victim.test');
    expect(ids).toContain('az:64501|victim.test');
    expect(ids).toContain('a:64501');
    expect(ids).not.toContain('p:10.2.2.0/24');
    const snap = JSON.parse((await svc.get('/v1/blocklist')).body) as {
      decisions: Array<{ entryId: string; networks?: string[]; type: string; scope: string }>;
    };
    expect(snap.decisions.find((d) => d.entryId === 'a:64501')?.networks).toEqual(['10.9.9.0/24']);
    // No client is refused a whole zone: zone-scoped entries hand their clients to the guard.
    const byId = new Map(snap.decisions.map((d) => [d.entryId, d]));
    for (const id of [
      'rz:10.1.1.1|victim.test',
      'rz:8.8.8.8|victim.test',
      'pz:10.9.9.0/24|victim.test',
    ])
      expect(byId.get(id)?.type).toBe('guard');
    expect(byId.get('pz:10.9.9.0/24|victim.test')?.scope).toBe('RangeZone');
    const rpz = await svc.get('/v1/blocklist?format=rpz');
    expect(rpz.body).toContain('24.0.9.9.10.rpz-client-ip CNAME rpz-drop.');
  });

  it('publishes the entries to the compacted topic and explains scores with evidence', async () => {
    const v = await waitFor(
      () => topicValues.get('rz:10.1.1.1|victim.test') ?? undefined,
      20_000,
      'topic entry',
    );
    const entry = blocklistEntrySchema.parse(JSON.parse(v));
    expect(entry).toMatchObject({
      action: 'guard',
      shadow: false,
      scope: { kind: 'resolver-zone', resolver: '10.1.1.1', zone: 'victim.test' },
    });
    expect(entry.score).toBeGreaterThanOrEqual(90);
    const ex = await svc.get(
      `/v1/reputation/resolver-zone/${encodeURIComponent('10.1.1.1|victim.test')}`,
    );
    expect(ex.status).toBe(200);
    const body = JSON.parse(ex.body) as {
      score: { ratio: number };
      evidence: Array<{ samples: Array<{ qname: string }> }>;
    };
    expect(body.score.ratio).toBeCloseTo(0.95, 2);
    expect(body.evidence[0]!.samples[0]!.qname).toContain('victim.test');
    const prefix = JSON.parse(
      (await svc.get(`/v1/reputation/prefix/${encodeURIComponent('10.9.9.0/24')}`)).body,
    ) as { members: unknown[] };
    expect(prefix.members).toHaveLength(3);
  });

  it('serves snapshots in every format', async () => {
    const text = await svc.get('/v1/blocklist?format=text');
    expect(text.body).toMatch(/^guard\tresolver-zone\t10\.1\.1\.1\tvictim\.test\t/m);
    // Guard clients are enforced through the zone guard, never as client-IP refusals.
    const rpz = await svc.get('/v1/blocklist?format=rpz&zone=victim.test.rpz.sluice');
    expect(rpz.body).toContain('SOA');
    expect(rpz.body).not.toContain('32.1.1.1.10.rpz-client-ip');
    const origin = await svc.get('/v1/blocklist?format=rpz');
    expect(origin.body).toContain('24.0.9.9.10.rpz-client-ip CNAME rpz-drop.');
    const lua = await svc.get('/v1/blocklist?format=dnsdist');
    expect(lua.body).toContain('addMask("10.9.9.0/24")');
    expect(lua.body).not.toContain('10.1.1.1');
    expect((await svc.get('/v1/blocklist?format=xml')).status).toBe(400);
  });

  it('does not double count a redelivered record', async () => {
    const before = JSON.parse((await svc.get(`/v1/reputation/resolver/10.1.1.1`)).body) as {
      state: { attack: number };
    };
    const dup = offender({
      resolver: '10.1.1.1',
      zone: 'victim.test',
      attack: 10,
      total: 10,
      at: 1_000,
    });
    await publish([dup, dup]);
    const after = await waitFor(
      async () => {
        const s = svc.runtime.pipeline.stats;
        return s.duplicates >= 1
          ? (JSON.parse((await svc.get(`/v1/reputation/resolver/10.1.1.1`)).body) as {
              state: { attack: number };
            })
          : undefined;
      },
      20_000,
      'duplicate',
    );
    // The old record adds 10·2^(−age/half-life) once, not twice.
    expect(after.state.attack - before.state.attack).toBeLessThan(10.0001);
    expect(after.state.attack).toBeGreaterThanOrEqual(before.state.attack);
  });

  it('counts and samples off-contract input to the dead-letter topic without stopping', async () => {
    await producer.send(input, [
      { key: 'x', value: '{"v":1,"zone":"victim.test"}' },
      { key: 'x', value: 'not json' },
    ]);
    await producer.flush();
    const metrics = await waitFor(
      async () => {
        const m = (await fetch(`${svc.url}/metrics`).then((r) => r.text())).match(
          /sluice_reputation_malformed_total\{reason="schema"[^}]*\} (\d+)/,
        );
        return m && Number(m[1]) >= 2 ? Number(m[1]) : undefined;
      },
      20_000,
      'bad-record counter',
    );
    expect(metrics).toBe(2);
    const reader = kafka.consumer({ groupId: uniqueName('rep-dlq-reader') });
    const samples: Array<{ reason: string; raw: string }> = [];
    await reader.connect();
    await reader.subscribe({ topic: deadLetters, fromBeginning: true });
    await reader.run({
      eachMessage: ({ message }) => {
        samples.push(JSON.parse(message.value!.toString()) as { reason: string; raw: string });
        return Promise.resolve();
      },
    });
    await waitFor(() => (samples.length >= 2 ? true : undefined), 20_000, 'dead letters');
    await reader.disconnect();
    expect(samples.map((s) => Buffer.from(s.raw, 'base64').toString())).toContain('not json');
    expect(samples[0]!.reason).toBe('schema');
  });

  it('streams deltas since a cursor: entries expire into deletions and tombstones', async () => {
    const { cursor } = await stream('startup=true');
    const id = 'rz:10.1.1.77|victim.test';
    await publish([
      offender({
        resolver: '10.1.1.77',
        zone: 'victim.test',
        attack: 990,
        total: 1000,
        prefix: '10.1.1.0/24',
      }),
    ]);
    const added = await waitFor(
      async () => {
        const d = await stream(`cursor=${cursor}`);
        return d.new.some((x) => x.entryId === id) ? d : undefined;
      },
      20_000,
      'new entry in the delta',
    );
    expect(added.deleted.map((x) => x.entryId)).not.toContain(id);
    // No refreshing evidence: the 4 s TTL lapses; since the same cursor the entry is now only deleted.
    const deleted = await waitFor(
      async () => {
        const d = await stream(`cursor=${cursor}`);
        return d.deleted.some((x) => x.entryId === id) ? d : undefined;
      },
      20_000,
      'expiry',
    );
    expect(deleted.new.map((x) => x.entryId)).not.toContain(id);
    await waitFor(
      () => (topicValues.has(id) && topicValues.get(id) === null ? true : undefined),
      20_000,
      'tombstone',
    );
    // Without a cursor the key's own last position is used (CrowdSec semantics): nothing new now.
    const again = await stream('');
    expect(again.new).toEqual([]);
  });
});
