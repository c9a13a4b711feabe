import { connect } from 'node:net';
import { encodeMessage, enrichedOffenderSchema } from '@sluice/contracts';
import {
  applyMutations,
  fc,
  mutationArbitrary,
  testKafka,
  waitFor,
  type FuzzTarget,
  type FuzzTargetFactory,
  type Mutation,
} from '@sluice/testing';
import { offender } from '../fixtures/offenders';
import {
  API_KEY,
  serviceConfig,
  serviceTopics,
  startService,
} from '../integration/service.helpers';

interface Request {
  method: string;
  path: string;
  params: Array<[string, string]>;
  headers: Array<[string, string]>;
  body: string;
  /** Byte-level damage to the serialised request (most requests have none). */
  raw: Mutation[];
}

const KINDS = ['resolver-zone', 'resolver', 'prefix', 'asn'];

/** Text a client may put anywhere: printable, control characters, non-ASCII, long runs. */
const junk = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.constantFrom(
    '%',
    '%zz',
    '%00',
    '%ff%fe',
    '..',
    '../..',
    '[]',
    '{}',
    '__proto__',
    'constructor',
    '-1',
    '1e309',
    'NaN',
  ),
  fc.integer({ min: 1, max: 5 }).map((k) => 'x'.repeat(10 ** k)),
);

/** Percent-encoded (as a client library would), raw (as a hostile one would), or as is. */
const encoded = (s: fc.Arbitrary<string>) =>
  fc
    .tuple(s, fc.constantFrom('encode', 'raw', 'encode'))
    .map(([v, how]) => (how === 'encode' ? encodeURIComponent(v) : v));

function requestArbitrary(cursor: () => string): fc.Arbitrary<Request> {
  // What bouncers send, per parameter; then the same names with anything at all.
  const param = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.tuple(fc.constant('startup'), fc.constantFrom('true', '1', 'false', '')),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(
        fc.constant('format'),
        fc.constantFrom('json', 'text', 'rpz', 'dnsdist', 'xml', 'JSON'),
      ),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(
        fc.constant('scopes'),
        fc.constantFrom(
          'ip',
          'range',
          'as',
          'ipzone',
          'ip,range,as,ipzone',
          'IP, Range',
          'ip,',
          'bogus',
        ),
      ),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(
        fc.constant('zone'),
        fc.constantFrom('victim.test', 'VICTIM.TEST.', 'rpz.sluice', 'victim.test.rpz.sluice', '.'),
      ),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(
        fc.constant('cursor'),
        fc.constantFrom(
          '$cursor',
          '0-0',
          '0',
          '99999999999999-0',
          '1-18446744073709551615',
          '18446744073709551615-18446744073709551615',
          '1-2-3',
          '-1-0',
        ),
      ),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(
        fc.oneof(
          {
            weight: 4,
            arbitrary: fc.constantFrom('startup', 'cursor', 'format', 'scopes', 'zone'),
          },
          {
            weight: 2,
            arbitrary: fc.constantFrom(
              'scopes[]',
              'cursor[a]',
              'format[0]',
              'zone[toString]',
              '__proto__[x]',
              'startup[]',
            ),
          },
          { weight: 1, arbitrary: encoded(junk) },
        ),
        encoded(junk),
      ),
    },
  );
  const path = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom('/v1/decisions/stream', '/v1/blocklist') },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.oneof(fc.constantFrom(...KINDS), encoded(junk)),
          fc.oneof(
            fc.constantFrom(
              '10.1.1.1',
              '10.9.9.0%2F24',
              '64500',
              '10.1.1.1%7Cvictim.test',
              '2001:db8::1',
            ),
            encoded(junk),
          ),
        )
        .map(([kind, id]) => `/v1/reputation/${kind}/${id}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '/healthz',
        '/readyz',
        '/metrics',
        '/',
        '/v1/decisions',
        '/v1/blocklist/',
        '/v1//blocklist',
        '/v1/blocklist/../decisions/stream',
        '/V1/BLOCKLIST',
        '*',
        'http://127.0.0.1/v1/blocklist',
      ),
    },
    { weight: 1, arbitrary: encoded(junk).map((p) => `/${p}`) },
  );
  const key = fc.oneof(
    { weight: 6, arbitrary: fc.constant(API_KEY) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        'wrong',
        `${API_KEY} `,
        ` ${API_KEY}`,
        API_KEY.toUpperCase(),
        `${API_KEY}, ${API_KEY}`,
      ),
    },
    { weight: 1, arbitrary: junk },
  );
  const header = fc.oneof(
    fc.tuple(
      fc.constantFrom(
        'Accept',
        'Accept-Encoding',
        'Connection',
        'User-Agent',
        'If-None-Match',
        'X-Forwarded-For',
        'Cookie',
        'Range',
        'Expect',
        'Content-Type',
      ),
      fc.oneof(
        fc.constantFrom(
          '*/*',
          'gzip, br',
          'close',
          'keep-alive',
          'crowdsec-firewall-bouncer/v0.0.31',
          'bytes=0-1',
          '100-continue',
          'application/json',
        ),
        junk,
      ),
    ),
    fc.tuple(
      fc.constant('Content-Length'),
      fc.constantFrom('0', '5', '-1', '99999999999', 'abc', '1, 2'),
    ),
    fc.tuple(
      fc.constant('Transfer-Encoding'),
      fc.constantFrom('chunked', 'gzip', 'chunked, chunked', 'identity'),
    ),
    fc.tuple(fc.constant('x-api-key'), key),
    fc.tuple(junk, junk),
  );
  const validParam = fc.oneof(
    fc.tuple(fc.constant('startup'), fc.constantFrom('true', '1', 'false')),
    fc.tuple(fc.constant('format'), fc.constantFrom('json', 'text', 'rpz', 'dnsdist')),
    fc.tuple(
      fc.constant('scopes'),
      fc.constantFrom('ip', 'range', 'as', 'ipzone', 'ip,range,as,ipzone'),
    ),
    fc.tuple(fc.constant('zone'), fc.constantFrom('victim.test', 'victim.test.rpz.sluice')),
    fc.tuple(fc.constant('cursor'), fc.constant('$cursor')),
  );
  // What a bouncer or an operator's script sends: well-formed, mostly answered 200.
  const bouncer = fc.record({
    method: fc.constant('GET'),
    path: fc.oneof(
      fc.constantFrom('/v1/decisions/stream', '/v1/blocklist'),
      fc
        .tuple(
          fc.constantFrom(...KINDS),
          fc.constantFrom('10.1.1.1', '10.9.9.0%2F24', '64500', '10.1.1.1%7Cvictim.test'),
        )
        .map(([kind, id]) => `/v1/reputation/${kind}/${id}`),
    ),
    params: fc.uniqueArray(validParam, { maxLength: 3, selector: ([k]) => k }),
    headers: fc.constant([['x-api-key', API_KEY]] as Array<[string, string]>),
    body: fc.constant(''),
    raw: fc.oneof(
      { weight: 4, arbitrary: fc.constant([] as Mutation[]) },
      {
        weight: 1,
        arbitrary: fc.array(mutationArbitrary({ maxBytes: 16 }), { minLength: 1, maxLength: 2 }),
      },
    ),
  });
  const hostile = fc.record({
    method: fc.oneof(
      { weight: 8, arbitrary: fc.constant('GET') },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          'HEAD',
          'POST',
          'OPTIONS',
          'PUT',
          'DELETE',
          'TRACE',
          'CONNECT',
          'get',
          'G ET',
          'PRI',
        ),
      },
    ),
    path,
    params: fc.array(param, { maxLength: 4 }),
    headers: fc
      .tuple(
        fc.oneof(
          { weight: 5, arbitrary: key.map((k) => [['x-api-key', k]] as Array<[string, string]>) },
          { weight: 1, arbitrary: fc.constant([] as Array<[string, string]>) },
        ),
        fc.oneof(
          { weight: 2, arbitrary: fc.constant([] as Array<[string, string]>) },
          { weight: 1, arbitrary: fc.array(header, { maxLength: 4 }) },
        ),
      )
      .map(([k, rest]) => [...k, ...rest]),
    body: fc.oneof(
      { weight: 5, arbitrary: fc.constant('') },
      {
        weight: 1,
        arbitrary: fc.oneof(
          fc.constantFrom('{}', '0\r\n\r\n', '5\r\nhello\r\n0\r\n\r\n', 'zz\r\n'),
          junk,
        ),
      },
    ),
    raw: fc.oneof(
      { weight: 6, arbitrary: fc.constant([] as Mutation[]) },
      {
        weight: 1,
        arbitrary: fc.array(mutationArbitrary({ maxBytes: 16 }), { minLength: 1, maxLength: 3 }),
      },
    ),
  });
  return fc
    .oneof({ weight: 2, arbitrary: bouncer }, { weight: 3, arbitrary: hostile })
    .map((r) => ({
      ...r,
      params: r.params.map(([k, v]): [string, string] => [k, v === '$cursor' ? cursor() : v]),
    }));
}

function serialise(r: Request): Buffer {
  const query = r.params.map(([k, v]) => `${k}=${v}`).join('&');
  const head = [
    `${r.method} ${r.path}${query ? `?${query}` : ''} HTTP/1.1`,
    'Host: 127.0.0.1',
    ...r.headers.map(([k, v]) => `${k}: ${v}`),
    'Connection: close',
  ];
  const bytes = Buffer.from(`${head.join('\r\n')}\r\n\r\n${r.body}`, 'latin1');
  return r.raw.length > 0 ? applyMutations(bytes, r.raw) : bytes;
}

/**
 * Status of the first response on the connection, or null when the server closed without one.
 * A request whose head is complete is not half-closed first (Node's HTTP server drops a pending
 * response when the client does): the client waits for the answer, and only when nothing comes
 * (a body that never arrives) it ends its side so the server gives up too. A head without its
 * blank line (truncated by a mutation) cannot be answered before more bytes or EOF: the client
 * ends its side at once, and the server answers 400 or closes as it would 250 ms later.
 */
function exchange(
  port: number,
  request: Buffer,
  localAddress: string,
): Promise<{ status: number | null }> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host: '127.0.0.1', localAddress });
    const chunks: Buffer[] = [];
    const timers: NodeJS.Timeout[] = [];
    const later = (ms: number, fn: () => void) => timers.push(setTimeout(fn, ms));
    later(4_000, () => {
      sock.destroy();
      reject(new Error('no response and no close within 4 s: the server hangs'));
    });
    sock.on('data', (c: Buffer) => {
      // The status line is what counts; a keep-alive answer would otherwise hold the socket.
      if (chunks.push(c) === 1) later(50, () => sock.resetAndDestroy());
    });
    sock.on('error', () => undefined); // a reset after a 400 is the server's right
    sock.on('close', () => {
      for (const t of timers) clearTimeout(t);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'));
      resolve({ status: m ? Number(m[1]) : null });
    });
    sock.on('connect', () => {
      // Any LF, CR?, LF may end the head for a lenient parser: only a request with none is cut.
      if (request.includes('\n\n') || request.includes('\n\r\n')) sock.write(request);
      else sock.end(request);
      later(250, () => {
        if (chunks.length === 0) sock.end();
      });
    });
  });
}

/**
 * The HTTP feed against hostile clients: the whole reputation service (Nest, express, the feed
 * controller, Redis, Kafka) in-process on loopback, holding real blocklist entries made from
 * offender records, asked by raw-socket requests whose paths, parameters (repeated, bracketed,
 * percent-encoded or raw), API keys and headers are drawn from what bouncers send and what they
 * must not, some byte-mutated after serialisation. Every request gets a 2xx/4xx answer or is
 * closed as unparseable; never a 5xx; and a valid bouncer pull keeps working.
 */
export const httpFeedFuzzTarget: FuzzTargetFactory = {
  name: 'http-feed',
  network: true,
  description:
    'Raw HTTP/1.1 requests to the running reputation service (feed, reputation API, health, metrics): paths, query parameters, API keys, headers, bodies, byte mutations → Nest/express on loopback with Kafka and Redis',
  async create() {
    const kafka = testKafka('fuzz-feed');
    const { input, output, producer } = await serviceTopics(kafka, 'fuzz-feed');
    const svc = await startService(
      serviceConfig({
        REPUTATION_INPUT_TOPIC: input,
        REPUTATION_OUTPUT_TOPIC: output,
        BLOCK_OUTRIGHT_NETWORKS: 'true',
        // A million requests take hours here: the entries the checks pull must outlive the run
        // (with the 30 min default, a long run failed at input 122,000 on an empty blocklist).
        BLOCK_TTL_MS: String(7 * 24 * 3600_000),
      }),
    );
    await producer.send(
      input,
      ['10.1.1.1', '10.9.9.1', '10.9.9.2', '10.9.9.3', '2001:db8::1'].map((resolver) => ({
        key: 'victim.test',
        value: encodeMessage(
          enrichedOffenderSchema,
          offender({
            resolver,
            zone: 'victim.test',
            attack: 950,
            total: 1000,
            prefix: resolver.includes(':') ? '2001:db8::/48' : '10.9.9.0/24',
          }),
        ),
      })),
    );
    await producer.flush();
    const port = Number(new URL(svc.url).port);
    let cursor = '';
    await waitFor(
      async () => {
        const r = await svc.get('/v1/decisions/stream?startup=true');
        const body = JSON.parse(r.body) as { new: unknown[]; cursor: string };
        cursor = body.cursor;
        return body.new.length > 0 ? true : undefined;
      },
      30_000,
      'blocklist entries from the offender records',
    );
    let n = 0;
    const target: FuzzTarget<Request> = {
      name: 'http-feed',
      async: true,
      // One Node process serves all: a request costs ~2 ms of CPU and waits on sockets and Redis
      // between, so a few clients at once keep it busy (a sequential client made 50–140/s).
      concurrency: Number(process.env.FUZZ_CONCURRENCY ?? 8),
      arbitrary: requestArbitrary(() => cursor),
      reasons: ['http-closed', ...Array.from({ length: 100 }, (_, i) => `http-${400 + i}`)],
      describe: (r) =>
        `${JSON.stringify({ ...r, raw: r.raw })}\n${serialise(r).toString('latin1').slice(0, 1_500)}`,
      async run(r) {
        // Client sockets leave TIME_WAIT behind: spread them over loopback source addresses.
        const res = await exchange(port, serialise(r), `127.0.${(n >> 8) & 63}.${n++ & 255 || 1}`);
        if (res.status === null) return { decoded: 0, malformed: ['http-closed'] };
        if (res.status >= 500 && !(res.status === 503 && r.path === '/readyz'))
          throw new Error(`the server answered ${res.status}`);
        if (res.status < 400) return { decoded: 1, malformed: [] };
        return { decoded: 0, malformed: [`http-${res.status}`] };
      },
      async check() {
        const stream = await svc.get('/v1/decisions/stream?startup=true');
        const rpz = await svc.get('/v1/blocklist?format=rpz');
        if (
          stream.status !== 200 ||
          !(JSON.parse(stream.body) as { new: unknown[] }).new.length ||
          rpz.status !== 200
        )
          throw new Error(`a valid bouncer pull failed: ${stream.status} / ${rpz.status}`);
      },
      async close() {
        await svc.close();
        await producer.disconnect();
      },
    };
    return target as FuzzTarget<unknown>;
  },
};
