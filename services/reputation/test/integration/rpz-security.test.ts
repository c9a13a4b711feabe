import { execFile } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import * as dnsPacket from 'dns-packet';
import { type BlocklistEntry } from '@sluice/contracts';
import { waitFor } from '@sluice/testing';
import { signMessage, verifyMessage } from '../../src/core/tsig';
import { RpzXfrServer, type RpzServerOptions } from '../../src/rpz/rpz-xfr.server';

const run = promisify(execFile);
jest.setTimeout(60_000);

/**
 * Issue 14, Security, AXFR/IXFR: who may transfer the policy zones (RPZ_XFR_ALLOW, TSIG), how
 * big each answer may be (records and bytes per TCP message, TC over UDP), and who is sent
 * NOTIFY — checked with real dig and kdig, and raw sockets, against the real server on loopback.
 */
const KEY = { name: 'sluice-xfr', secret: Buffer.alloc(32, 7).toString('base64') };
const OTHER = { name: 'sluice-xfr', secret: Buffer.alloc(32, 8).toString('base64') };
/** 188 characters: its policy zone's SOA answer, signed, is over 512 bytes. */
const LONG_ZONE = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.example`;
const LONG_POLICY_ZONE = `${LONG_ZONE}.rpz.sluice`;

const entries = (n: number, zone: string | null): BlocklistEntry[] =>
  Array.from({ length: n }, (_, i) => ({
    v: 1,
    id: `e:${zone ?? '-'}:${i}`,
    scope:
      zone === null
        ? { kind: 'resolver', resolver: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }
        : {
            kind: 'resolver-zone',
            resolver: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
            zone,
          },
    action: 'drop',
    reason: 'test',
    score: 90,
    createdAt: 0,
    expiresAt: Date.now() + 600_000,
    shadow: false,
  }));

async function started(
  over: Partial<RpzServerOptions>,
): Promise<{ server: RpzXfrServer; port: number }> {
  const server = new RpzXfrServer({
    host: '127.0.0.1',
    port: 0,
    origin: 'rpz.sluice',
    initialSerial: 1000,
    keys: [KEY],
    requireTsig: true,
    allow: ['127.0.0.2/32'],
    notify: [],
    ...over,
  });
  return { server, port: (await server.start()).port };
}

/** dig from a chosen loopback source address (the allowlist sees it). */
async function dig(port: number, from: string, key: typeof KEY | null, ...args: string[]) {
  const { stdout } = await run('dig', [
    '-p',
    String(port),
    '@127.0.0.1',
    '-b',
    from,
    ...(key ? ['-y', `hmac-sha256:${key.name}:${key.secret}`] : []),
    '+tries=1',
    '+time=5',
    ...args,
  ]);
  return stdout;
}

/** Every message of a TCP transfer, read off the wire: their sizes are what the limits bound. */
async function tcpTransfer(port: number, from: string, qname: string): Promise<Buffer[]> {
  const query = signMessage(
    dnsPacket.encode({ type: 'query', id: 77, questions: [{ type: 'AXFR', name: qname }] }),
    KEY,
  ).msg;
  return new Promise((resolve, reject) => {
    const messages: Buffer[] = [];
    let buf = Buffer.alloc(0);
    let soas = 0;
    const sock = connect({ host: '127.0.0.1', port, localAddress: from }, () => {
      const head = Buffer.alloc(2);
      head.writeUInt16BE(query.length);
      sock.write(Buffer.concat([head, query]));
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + m.length);
        messages.push(m);
        soas += dnsPacket.decode(m).answers?.filter((a) => a.type === 'SOA').length ?? 0;
        if (soas >= 2) {
          sock.destroy();
          resolve(messages);
        }
      }
    });
    sock.on('error', reject);
    sock.on('close', () => resolve(messages));
  });
}

describe('RPZ server: allowlist and TSIG', () => {
  let server: RpzXfrServer;
  let port: number;
  beforeAll(async () => {
    ({ server, port } = await started({}));
    await server.refresh(entries(50, null));
  });
  afterAll(() => server.stop());

  it('transfers to an allowed address with the key (dig and kdig)', async () => {
    const out = await dig(port, '127.0.0.2', KEY, 'rpz.sluice', 'AXFR');
    expect(out).toMatch(/XFR size: 53 records/);
    const { stdout } = await run('kdig', [
      '-p',
      String(port),
      '@127.0.0.1',
      '-b',
      '127.0.0.2',
      '-y',
      `hmac-sha256:${KEY.name}:${KEY.secret}`,
      'rpz.sluice',
      'AXFR',
    ]);
    expect(stdout).toMatch(/Received \d+ B \(\d+ messages?, 53 records\)/);
  });

  it('refuses an address outside RPZ_XFR_ALLOW even with the right key, over TCP and UDP', async () => {
    const before = server.served.denied ?? 0;
    const axfr = await dig(port, '127.0.0.3', KEY, 'rpz.sluice', 'AXFR');
    expect(axfr).toMatch(/Transfer failed/);
    expect(axfr).not.toContain('rpz-client-ip');
    const soa = await dig(port, '127.0.0.3', KEY, 'rpz.sluice', 'SOA');
    expect(soa).toMatch(/status: REFUSED/);
    const ixfr = await dig(port, '127.0.0.3', KEY, 'rpz.sluice', 'IXFR=1', '+tcp');
    expect(ixfr).toMatch(/Transfer failed|status: REFUSED/);
    expect(server.served.denied ?? 0).toBe(before + 3);
  });

  it('refuses unsigned requests, a wrong secret and an unknown key name (TSIG required)', async () => {
    expect(await dig(port, '127.0.0.2', null, 'rpz.sluice', 'AXFR')).toMatch(/Transfer failed/);
    expect(await dig(port, '127.0.0.2', null, 'rpz.sluice', 'SOA')).toMatch(/status: NOTAUTH/);
    const wrongSecret = await dig(port, '127.0.0.2', OTHER, 'rpz.sluice', 'AXFR');
    expect(wrongSecret).not.toContain('rpz-client-ip');
    const wrongName = await dig(
      port,
      '127.0.0.2',
      { name: 'nobody', secret: KEY.secret },
      'rpz.sluice',
      'SOA',
    );
    expect(wrongName).toMatch(/NOTAUTH|BADKEY|tsig verify failure/i);
    expect(wrongName).toMatch(/ANSWER: 0,/);
  });

  it('refuses everything when TSIG is required and no key is configured', async () => {
    const { server: bare, port: p } = await started({ keys: [], allow: ['127.0.0.0/8'] });
    try {
      await bare.refresh(entries(5, null));
      expect(await dig(p, '127.0.0.2', null, 'rpz.sluice', 'AXFR')).toMatch(/Transfer failed/);
      expect(await dig(p, '127.0.0.2', null, 'rpz.sluice', 'SOA')).toMatch(/status: REFUSED/);
    } finally {
      await bare.stop();
    }
  });
});

describe('RPZ server: answer sizes', () => {
  let server: RpzXfrServer;
  let port: number;
  beforeAll(async () => {
    ({ server, port } = await started({ maxMessageBytes: 4096, maxRecordsPerMessage: 100 }));
    // 1,000 records of ~230-byte names: 400 to a message would be over TCP's 65,535 bytes.
    await server.refresh(entries(1000, LONG_ZONE));
  });
  afterAll(() => server.stop());

  it('cuts a transfer into messages within the record and byte limits, every one TSIG-signed (dig verifies)', async () => {
    const out = await dig(port, '127.0.0.2', KEY, LONG_POLICY_ZONE, 'AXFR');
    expect(out).not.toMatch(/failure|BADSIG|tsig verify|Transfer failed/i);
    expect(out).toMatch(/XFR size: 1003 records/);
    const messages = await tcpTransfer(port, '127.0.0.2', LONG_POLICY_ZONE);
    expect(messages.length).toBeGreaterThanOrEqual(Math.ceil((1000 * 230) / 4096));
    let records = 0;
    for (const m of messages) {
      expect(m.length).toBeLessThanOrEqual(4096);
      const n = dnsPacket.decode(m).answers?.length ?? 0;
      expect(n).toBeLessThanOrEqual(100);
      records += n;
    }
    expect(records).toBe(1003);
  });

  it('with the default limits (16 KiB) the same long names transfer too', async () => {
    const { server: d, port: p } = await started({});
    try {
      await d.refresh(entries(1000, LONG_ZONE));
      const messages = await tcpTransfer(p, '127.0.0.2', LONG_POLICY_ZONE);
      expect(messages.every((m) => m.length <= 16_384)).toBe(true);
      expect(messages.reduce((n, m) => n + (dnsPacket.decode(m).answers?.length ?? 0), 0)).toBe(
        1003,
      );
    } finally {
      await d.stop();
    }
  });

  it('sets TC on a UDP answer over 512 bytes without EDNS; dig then asks over TCP', async () => {
    const truncated = await dig(
      port,
      '127.0.0.2',
      KEY,
      LONG_POLICY_ZONE,
      'SOA',
      '+noedns',
      '+ignore',
    );
    expect(truncated).toMatch(/flags: qr aa tc;/);
    expect(truncated).toMatch(/ANSWER: 0,/);
    const retried = await dig(port, '127.0.0.2', KEY, LONG_POLICY_ZONE, 'SOA', '+noedns');
    expect(retried).toMatch(/Truncated, retrying in TCP mode/);
    expect(retried).toMatch(/ANSWER: 1,/);
    // EDNS with 1232 bytes: it fits, no TC
    const edns = await dig(port, '127.0.0.2', KEY, LONG_POLICY_ZONE, 'SOA', '+bufsize=1232');
    expect(edns).toMatch(/flags: qr aa;/);
  });
});

describe('RPZ server: NOTIFY', () => {
  const sockets: UdpSocket[] = [];
  const listen = async () => {
    const s = createSocket('udp4');
    sockets.push(s);
    const got: Array<{ msg: Buffer; port: number }> = [];
    s.on('message', (msg, r) => got.push({ msg, port: r.port }));
    await new Promise<void>((r) => s.bind(0, '127.0.0.2', r));
    return { s, port: s.address().port, got };
  };
  afterAll(() => {
    for (const s of sockets) s.close();
  });

  it('goes only to the configured secondary, signed; only its own answer stops the retries', async () => {
    const secondary = await listen();
    const stranger = await listen();
    const { server } = await started({
      notify: [{ host: '127.0.0.2', port: secondary.port }],
    });
    try {
      await server.refresh(entries(3, null));
      await waitFor(() => (secondary.got.length >= 1 ? true : undefined), 10_000, 'NOTIFY');
      const first = secondary.got[0]!;
      const notify = dnsPacket.decode(first.msg);
      expect(((notify.flags ?? 0) >> 11) & 0xf).toBe(4); // NOTIFY
      expect(verifyMessage(first.msg, [KEY], Date.now()).ok).toBe(true);
      // An answer with the right id from another address or port is not an acknowledgement.
      const ack = (from: UdpSocket) =>
        from.send(
          dnsPacket.encode({
            type: 'response',
            id: notify.id,
            // dns-packet writes the opcode from the flags only: NOTIFY is 4.
            flags: (4 << 11) | dnsPacket.AUTHORITATIVE_ANSWER,
            questions: notify.questions,
          }),
          first.port,
          '127.0.0.1',
        );
      ack(stranger.s);
      await waitFor(
        () => (secondary.got.length >= 2 ? true : undefined),
        10_000,
        'NOTIFY retried after a stranger acknowledged it',
      );
      expect(server.notifiesAcked).toBe(0);
      ack(secondary.s);
      await waitFor(() => (server.notifiesAcked === 1 ? true : undefined), 10_000, 'real ack');
      expect(stranger.got).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});
