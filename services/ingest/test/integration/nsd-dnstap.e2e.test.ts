import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type QueryEvent } from '@sluice/contracts';
import { type Kafka } from '@sluice/kafka';
import { createTestTopics, nsdConfig, testKafka, testPortRange, waitFor } from '@sluice/testing';
import { ZoneMapper } from '../../src/core/zone-mapper';
import { DnstapListener } from '../../src/listeners/dnstap.listener';
import { openPublisher } from '../../src/publish/open-publisher';
import { eventsOf, queryBatchReader, testIngestConfig } from './kafka-helpers';

const run = promisify(execFile);

/**
 * End to end with a real authoritative server: Debian's NSD 4.6 is built with
 * --enable-dnstap (see `nsd -v`), writes AUTH_QUERY and AUTH_RESPONSE to a unix socket with
 * the bidirectional Frame Streams handshake. dig is the querier, from fixed source ports.
 */
describe('NSD → dnstap → ingest → Kafka', () => {
  let kafka: Kafka;
  let dir: string;
  let nsd: ChildProcess | null = null;
  const closers: (() => Promise<void>)[] = [];
  // Below the ephemeral range: a client socket cannot take it before NSD binds it.
  const [lowPort, highPort] = testPortRange();
  const port = lowPort + Math.floor(Math.random() * (highPort - lowPort - 1));
  const sport = port + 1;

  beforeAll(() => {
    kafka = testKafka('ingest-nsd-e2e');
    dir = mkdtempSync(join(tmpdir(), 'sluice-nsd-'));
  });

  afterAll(async () => {
    if (nsd && nsd.exitCode === null) {
      const exited = new Promise((r) => nsd!.once('exit', r));
      nsd.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (nsd.exitCode === null) nsd.kill('SIGKILL');
    }
    await Promise.all(closers.map((c) => c()));
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  function dig(...args: string[]) {
    return run('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=2', ...args]);
  }

  it('delivers each query with its fields and the rcode of the AUTH_RESPONSE', async () => {
    const [queries, deadLetters] = await createTestTopics(kafka, [
      'ingest.queries',
      'ingest.deadletter',
    ]);
    const config = testIngestConfig(queries, deadLetters, {
      INGEST_SERVED_ZONES: 'victim.example',
    });
    const open = await openPublisher(config, 'ingest-nsd-e2e');
    const listener = new DnstapListener('dnstap-unix', {
      zones: new ZoneMapper(config.INGEST_SERVED_ZONES),
      publisher: open.publisher,
      metrics: open.metrics,
      assembler: { pairWindowMs: config.INGEST_PAIR_WINDOW_MS, maxPending: 1000 },
      maxFrameBytes: config.INGEST_MAX_FRAME_BYTES,
      log: { info: () => undefined, warn: () => undefined },
    });
    const socket = join(dir, 'dnstap.sock');
    await listener.listenUnix(socket);
    closers.push(() => listener.close().then(() => open.close()));

    writeFileSync(
      join(dir, 'victim.example.zone'),
      [
        '$ORIGIN victim.example.',
        '$TTL 300',
        '@ IN SOA ns1 hostmaster 1 3600 900 604800 300',
        '@ IN NS ns1',
        'ns1 IN A 127.0.0.1',
        'www IN A 192.0.2.80',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'nsd.conf'),
      nsdConfig({
        dir,
        port,
        zones: [{ name: 'victim.example', file: 'victim.example.zone' }],
        sections: `dnstap:
  dnstap-enable: yes
  dnstap-socket-path: "${socket}"
  dnstap-send-identity: yes
  dnstap-identity: "nsd-e2e"
  dnstap-log-auth-query-messages: yes
  dnstap-log-auth-response-messages: yes
`,
      }),
    );
    nsd = spawn('nsd', ['-d', '-c', join(dir, 'nsd.conf')], { stdio: 'ignore' });
    await waitFor(
      async () => {
        if (nsd!.exitCode !== null)
          throw new Error(`nsd exited with ${nsd!.exitCode}; see ${dir}/nsd.log`);
        const r = await dig('+short', 'ns1.victim.example').catch(() => null);
        return r?.stdout.trim() === '127.0.0.1' ? true : undefined;
      },
      20_000,
      'nsd to answer',
    );
    await waitFor(
      () => (listener.connectionCount > 0 ? true : undefined),
      20_000,
      'nsd to connect its dnstap socket',
    );

    await dig('-b', `127.0.0.1#${sport}`, 'WWW.Victim.Example', 'A', '+dnssec', '+bufsize=1400');
    await dig(
      '-b',
      `127.0.0.1#${sport + 1}`,
      'nope123.victim.example',
      'AAAA',
      '+norecurse',
      '+noedns',
    );
    await dig('+tcp', 'www.victim.example', 'TXT');
    await dig('-b', `127.0.0.1#${sport + 2}`, 'host.other-zone.test', 'A');

    const reader = queryBatchReader(kafka, queries);
    closers.push(() => reader.stop());
    await reader.start();
    // The warm-up query (ns1) plus the four above.
    const find = (qname: string, qtype: number): QueryEvent | undefined =>
      eventsOf(reader.items).find((e) => e.qname === qname && e.qtype === qtype);
    await waitFor(
      () => (find('host.other-zone.test', 1) && find('www.victim.example', 16) ? true : undefined),
      30_000,
      'records on Kafka',
    );

    const now = Date.now();
    const www = find('www.victim.example', 1)!;
    expect(www).toMatchObject({
      resolver: '127.0.0.1',
      resolverPort: sport,
      transport: 'udp',
      qclass: 1,
      rd: true,
      do: true,
      ednsSize: 1400,
      zone: 'victim.example',
      rcode: 0,
      ancount: 1,
    });
    // Event time is NSD's query_time, not the ingest's clock (but of course close to it).
    expect(Math.abs(now - www.ts)).toBeLessThan(60_000);
    expect(find('nope123.victim.example', 28)).toMatchObject({
      resolverPort: sport + 1,
      rd: false,
      do: false,
      ednsSize: null,
      zone: 'victim.example',
      rcode: 3,
      ancount: 0,
    });
    expect(find('www.victim.example', 16)).toMatchObject({
      transport: 'tcp',
      // NODATA: the name exists, it has no TXT record.
      rcode: 0,
      ancount: 0,
      zone: 'victim.example',
    });
    // Not a served zone: registrable-domain fallback, and NSD refuses it.
    expect(find('host.other-zone.test', 1)).toMatchObject({
      resolverPort: sport + 2,
      zone: 'other-zone.test',
      rcode: 5,
      ancount: 0,
    });
    expect(reader.items.every((b) => b.source === 'dnstap-unix:nsd-e2e')).toBe(true);
    expect(open.publisher.malformedCount).toBe(0);
  });
});
