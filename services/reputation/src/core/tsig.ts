import { createHmac, timingSafeEqual } from 'node:crypto';
import { normaliseName } from '@sluice/dns';

/** RFC 8945 TSIG with HMAC-SHA256 (what `tsig-keygen` makes by default). */
export interface TsigKey {
  name: string;
  /** Secret, base64 as in BIND's `key { secret "…"; }`. */
  secret: string;
  algorithm?: 'hmac-sha256';
}

export const TSIG_TYPE = 250;
const FUDGE = 300;

export function nameToWire(name: string): Buffer {
  const labels = normaliseName(name)
    .split('.')
    .filter((l) => l.length > 0);
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'ascii');
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** Offset just past a (possibly compressed) name at `off`. */
function skipName(buf: Buffer, off: number): number {
  for (;;) {
    const len = buf[off];
    if (len === undefined) throw new RangeError('truncated name');
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2;
    off += len + 1;
  }
}

function readName(buf: Buffer, off: number): string {
  const labels: string[] = [];
  for (let guard = 0; guard < 128; guard++) {
    const len = buf[off]!;
    if (len === 0) break;
    if ((len & 0xc0) === 0xc0) {
      off = ((len & 0x3f) << 8) | buf[off + 1]!;
      continue;
    }
    labels.push(buf.toString('ascii', off + 1, off + 1 + len));
    off += len + 1;
  }
  return labels.join('.').toLowerCase();
}

export interface TsigRecord {
  keyName: string;
  algorithm: string;
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
  /** Where the TSIG RR starts in the message. */
  offset: number;
}

/** Finds a TSIG RR (always the last additional record) without re-encoding the message. */
export function findTsig(msg: Buffer): TsigRecord | null {
  const qd = msg.readUInt16BE(4);
  const total = msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10);
  if (msg.readUInt16BE(10) === 0) return null;
  let off = 12;
  for (let i = 0; i < qd; i++) off = skipName(msg, off) + 4;
  for (let i = 0; i < total; i++) {
    const start = off;
    const nameEnd = skipName(msg, off);
    const type = msg.readUInt16BE(nameEnd);
    const rdlen = msg.readUInt16BE(nameEnd + 8);
    const rd = nameEnd + 10;
    if (i === total - 1 && type === TSIG_TYPE) {
      const algEnd = skipName(msg, rd);
      const timeSigned = msg.readUInt16BE(algEnd) * 2 ** 32 + msg.readUInt32BE(algEnd + 2);
      const fudge = msg.readUInt16BE(algEnd + 6);
      const macLen = msg.readUInt16BE(algEnd + 8);
      const mac = msg.subarray(algEnd + 10, algEnd + 10 + macLen);
      const p = algEnd + 10 + macLen;
      const otherLen = msg.readUInt16BE(p + 4);
      return {
        keyName: readName(msg, start),
        algorithm: readName(msg, rd),
        timeSigned,
        fudge,
        mac: Buffer.from(mac),
        originalId: msg.readUInt16BE(p),
        error: msg.readUInt16BE(p + 2),
        other: Buffer.from(msg.subarray(p + 6, p + 6 + otherLen)),
        offset: start,
      };
    }
    off = rd + rdlen;
  }
  return null;
}

function time48(t: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(Math.floor(t / 2 ** 32), 0);
  b.writeUInt32BE(t % 2 ** 32, 2);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function variables(key: TsigKey, timeSigned: number, error: number, other: Buffer): Buffer {
  return Buffer.concat([
    nameToWire(key.name),
    u16(255),
    Buffer.alloc(4),
    nameToWire('hmac-sha256'),
    time48(timeSigned),
    u16(FUDGE),
    u16(error),
    u16(other.length),
    other,
  ]);
}

export interface SignOptions {
  /** MAC of the request (responses) or of the previous message (later AXFR messages). */
  priorMac?: Buffer;
  /** Later messages of a multi-message answer sign only the timers (RFC 8945 §5.3.1). */
  timersOnly?: boolean;
  now?: number;
  error?: number;
}

/** Appends a TSIG RR to `msg` (which must not have one) and returns the signed message and MAC. */
export function signMessage(
  msg: Buffer,
  key: TsigKey,
  o: SignOptions = {},
): { msg: Buffer; mac: Buffer } {
  const t = Math.floor((o.now ?? Date.now()) / 1000);
  const hmac = createHmac('sha256', Buffer.from(key.secret, 'base64'));
  if (o.priorMac) hmac.update(Buffer.concat([u16(o.priorMac.length), o.priorMac]));
  hmac.update(msg);
  hmac.update(
    o.timersOnly
      ? Buffer.concat([time48(t), u16(FUDGE)])
      : variables(key, t, o.error ?? 0, Buffer.alloc(0)),
  );
  const mac = hmac.digest();
  const rdata = Buffer.concat([
    nameToWire('hmac-sha256'),
    time48(t),
    u16(FUDGE),
    u16(mac.length),
    mac,
    msg.subarray(0, 2),
    u16(o.error ?? 0),
    u16(0),
  ]);
  const rr = Buffer.concat([
    nameToWire(key.name),
    u16(TSIG_TYPE),
    u16(255),
    Buffer.alloc(4),
    u16(rdata.length),
    rdata,
  ]);
  const out = Buffer.concat([msg, rr]);
  out.writeUInt16BE(msg.readUInt16BE(10) + 1, 10);
  return { msg: out, mac };
}

export type TsigVerdict =
  | { ok: true; key: TsigKey; mac: Buffer }
  | {
      ok: false;
      /** malformed: a TSIG record that runs past the message (RFC 8945 §5.2: FORMERR). */
      reason: 'unsigned' | 'malformed' | 'badkey' | 'badsig' | 'badtime';
      keyName?: string;
    };

/** Verifies a signed request (first message, full variables). */
export function verifyMessage(
  msg: Buffer,
  keys: readonly TsigKey[],
  now = Date.now(),
  priorMac?: Buffer,
): TsigVerdict {
  let t: TsigRecord | null;
  try {
    t = findTsig(msg);
  } catch {
    // Lengths inside the record point past the end: a hostile or broken client, not our error.
    return { ok: false, reason: 'malformed' };
  }
  if (t === null) return { ok: false, reason: 'unsigned' };
  const key = keys.find((k) => normaliseName(k.name) === t.keyName);
  if (!key || t.algorithm !== 'hmac-sha256')
    return { ok: false, reason: 'badkey', keyName: t.keyName };
  const stripped = Buffer.from(msg.subarray(0, t.offset));
  stripped.writeUInt16BE(t.originalId, 0);
  stripped.writeUInt16BE(stripped.readUInt16BE(10) - 1, 10);
  // Recomputed with the sender's algorithm name, fudge, error and other data.
  const expected = createHmac('sha256', Buffer.from(key.secret, 'base64'));
  if (priorMac) expected.update(Buffer.concat([u16(priorMac.length), priorMac]));
  expected.update(stripped);
  expected.update(
    Buffer.concat([
      nameToWire(key.name),
      u16(255),
      Buffer.alloc(4),
      nameToWire(t.algorithm),
      time48(t.timeSigned),
      u16(t.fudge),
      u16(t.error),
      u16(t.other.length),
      t.other,
    ]),
  );
  const mac = expected.digest();
  if (mac.length !== t.mac.length || !timingSafeEqual(mac, t.mac))
    return { ok: false, reason: 'badsig', keyName: t.keyName };
  if (Math.abs(Math.floor(now / 1000) - t.timeSigned) > t.fudge)
    return { ok: false, reason: 'badtime', keyName: t.keyName };
  return { ok: true, key, mac: t.mac };
}
