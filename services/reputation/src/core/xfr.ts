import * as dnsPacket from 'dns-packet';
import { normaliseName } from '@sluice/dns';
import { decodeDnsPacket } from './dns-wire';
import { type RpzRecord } from './rpz';
import { type RpzZoneSet, serialGt } from './rpz-zones';
import { signMessage, verifyMessage, type TsigKey } from './tsig';

const TTL = 60;
const OPCODE_NOTIFY = 4;
const TC = 1 << 9;
/** UDP answers without EDNS (RFC 1035); with EDNS the client's size, at most 1232 (DNS flag day 2020). */
const UDP_PLAIN = 512;
const UDP_EDNS_MAX = 1232;
/** Room kept in each message for the TSIG RR (key name ≤ 255, HMAC-SHA256 MAC, fields). */
const TSIG_ROOM = 400;

export const XFR_DEFAULT_LIMITS = { maxRecordsPerMessage: 400, maxMessageBytes: 16_384 } as const;

export interface XfrOptions {
  keys: readonly TsigKey[];
  /** Refuse unsigned requests (SOA queries too); with no keys at all, refuse every request. */
  requireTsig: boolean;
  /** AXFR/IXFR over TCP are cut into messages of at most this many records and bytes. */
  maxRecordsPerMessage?: number;
  /** ≤ 65535 (TCP framing); TSIG included. */
  maxMessageBytes?: number;
  now?: () => number;
}

export type XfrOutcome =
  | 'soa'
  | 'axfr'
  | 'ixfr'
  | 'ixfr-uptodate'
  | 'refused'
  | 'notauth'
  | 'formerr'
  | 'other'
  /** From an address outside RPZ_XFR_ALLOW. */
  | 'denied';

function soa(zone: string, serial: number): dnsPacket.Answer {
  return {
    type: 'SOA',
    name: zone,
    ttl: TTL,
    class: 'IN',
    data: {
      mname: 'localhost',
      rname: 'hostmaster.localhost',
      serial,
      refresh: 60,
      retry: 10,
      expire: 86400,
      minimum: TTL,
    },
  };
}

function cname(r: RpzRecord): dnsPacket.Answer {
  return {
    type: 'CNAME',
    name: r.name,
    ttl: TTL,
    class: 'IN',
    data: r.target.replace(/\.$/, '') || '.',
  };
}

/**
 * Whether dns-packet writes the question back exactly as the client sent it: every answer echoes
 * it. A label with bytes that are not UTF-8 (or a dot inside), or a type dns-packet cannot name,
 * came back altered — a malformed answer (found by the rpz-xfr-server fuzz target).
 */
function echoable(raw: Buffer, q: dnsPacket.Question): boolean {
  try {
    const wire = dnsPacket.encode({ type: 'query', id: 0, questions: [q] });
    return raw.length >= wire.length && raw.subarray(12, wire.length).equals(wire.subarray(12));
  } catch {
    return false;
  }
}

/**
 * Answers one request to the policy-zone server: SOA queries, AXFR (TCP), IXFR (RFC 1995; falls
 * back to the AXFR form when the history does not reach the client's serial). Returns the wire
 * messages to send (several for a large AXFR), each TSIG-signed when the request was.
 */
export function answerRequest(
  raw: Buffer,
  zones: RpzZoneSet,
  o: XfrOptions,
  transport: 'udp' | 'tcp',
): { messages: Buffer[]; outcome: XfrOutcome } {
  let req: dnsPacket.Packet;
  try {
    req = decodeDnsPacket(raw);
  } catch {
    return { messages: [], outcome: 'formerr' };
  }
  const now = o.now?.() ?? Date.now();
  const q = req.questions?.[0];
  if (q && !echoable(raw, q))
    return {
      messages: [
        dnsPacket.encode({
          type: 'response',
          id: req.id ?? 0,
          flags: 1 /* FORMERR */,
          questions: [],
        }),
      ],
      outcome: 'formerr',
    };
  const base = (rcode: number, answers: dnsPacket.Answer[] = [], aa = true): dnsPacket.Packet => ({
    type: 'response',
    id: req.id ?? 0,
    flags: (aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | rcode,
    questions: q ? [q] : [],
    answers,
  });
  let priorMac: Buffer | undefined;
  let key: TsigKey | undefined;
  // TSIG required and no key to check it with: nothing can be signed right, nothing is served.
  if (o.keys.length === 0 && o.requireTsig)
    return { messages: [dnsPacket.encode(base(5 /* REFUSED */, [], false))], outcome: 'refused' };
  if (o.keys.length > 0) {
    const v = verifyMessage(raw, o.keys, now);
    if (v.ok) {
      key = v.key;
      priorMac = v.mac;
    } else if (v.reason === 'malformed') {
      return { messages: [dnsPacket.encode(base(1 /* FORMERR */))], outcome: 'formerr' };
    } else if (v.reason !== 'unsigned' || o.requireTsig) {
      return { messages: [dnsPacket.encode(base(9 /* NOTAUTH */))], outcome: 'notauth' };
    }
  }
  const udpMax = transport === 'udp' ? udpLimit(req) : Infinity;
  const sign = (packets: dnsPacket.Packet[]): Buffer[] => {
    const out: Buffer[] = [];
    let mac = priorMac;
    const signed = (wire: Buffer, i: number): Buffer => {
      if (!key) return wire;
      const s = signMessage(wire, key, { priorMac: mac, timersOnly: i > 0, now });
      mac = s.mac;
      return s.msg;
    };
    packets.forEach((p, i) => {
      const prior = mac;
      let msg = signed(dnsPacket.encode(p), i);
      if (msg.length > udpMax) {
        // Too big for UDP: TC and no records, so the client asks again over TCP (RFC 2181 §9).
        mac = prior;
        const cut = { ...p, flags: (p.flags ?? 0) | TC, answers: [], authorities: [] };
        msg = signed(dnsPacket.encode(cut), i);
      }
      out.push(msg);
    });
    return out;
  };
  const opcode = ((req.flags ?? 0) >> 11) & 0xf;
  if (opcode !== 0 || !q) return { messages: sign([base(4 /* NOTIMP */)]), outcome: 'other' };
  const zone = zones.head(q.name);
  if (!zone || zone.name !== normaliseName(q.name)) {
    return { messages: sign([base(5 /* REFUSED */, [], false)]), outcome: 'refused' };
  }
  const qtype = q.type as string;
  if (qtype === 'SOA')
    return { messages: sign([base(0, [soa(zone.name, zone.serial)])]), outcome: 'soa' };
  const maxRecords = o.maxRecordsPerMessage ?? XFR_DEFAULT_LIMITS.maxRecordsPerMessage;
  const maxBytes = Math.min(65_535, o.maxMessageBytes ?? XFR_DEFAULT_LIMITS.maxMessageBytes);
  /**
   * A transfer as messages of at most maxRecords records and maxBytes bytes, TSIG room kept
   * (a 400-record message of long zone-scoped names was over TCP's 65,535 and broke the
   * transfer). dns-packet does not compress names, so each record's size is exact.
   */
  const chunks = (rrs: dnsPacket.Answer[]): dnsPacket.Packet[] => {
    const packets: dnsPacket.Packet[] = [];
    const start = (first: boolean): { p: dnsPacket.Packet; size: number } => {
      const p = base(0, []);
      if (!first) p.questions = [];
      return { p, size: dnsPacket.encodingLength(p) + (key ? TSIG_ROOM : 0) };
    };
    let cur = start(true);
    for (const rr of rrs) {
      const n = answerLength(rr);
      const answers = cur.p.answers!;
      if (answers.length > 0 && (answers.length >= maxRecords || cur.size + n > maxBytes)) {
        packets.push(cur.p);
        cur = start(false);
      }
      // One record always goes in (≤ 520 bytes: a 255-byte owner and target; maxBytes ≥ 1024).
      cur.p.answers!.push(rr);
      cur.size += n;
    }
    packets.push(cur.p);
    return packets;
  };
  const full = (): dnsPacket.Answer[] => [
    soa(zone.name, zone.serial),
    { type: 'NS', name: zone.name, ttl: TTL, class: 'IN', data: 'localhost' },
    ...zones.get(zone.name)!.records.map(cname),
    soa(zone.name, zone.serial),
  ];
  if (qtype === 'AXFR') {
    if (transport !== 'tcp') return { messages: sign([base(5)]), outcome: 'refused' };
    return { messages: sign(chunks(full())), outcome: 'axfr' };
  }
  if (qtype === 'IXFR') {
    const clientSoa = req.authorities?.find((a) => a.type === 'SOA');
    const clientSerial = clientSoa && clientSoa.type === 'SOA' ? clientSoa.data.serial : undefined;
    if (clientSerial !== undefined && !serialGt(zone.serial, clientSerial))
      return { messages: sign([base(0, [soa(zone.name, zone.serial)])]), outcome: 'ixfr-uptodate' };
    const diffs = clientSerial === undefined ? null : zones.diffsSince(zone.name, clientSerial);
    if (diffs === null || transport !== 'tcp') {
      // Over UDP a too-large answer would need TC; send only the SOA so the client retries on TCP.
      if (transport !== 'tcp')
        return { messages: sign([base(0, [soa(zone.name, zone.serial)])]), outcome: 'ixfr' };
      return { messages: sign(chunks(full())), outcome: 'axfr' };
    }
    const rrs: dnsPacket.Answer[] = [soa(zone.name, zone.serial)];
    for (const d of diffs) {
      rrs.push(soa(zone.name, d.from));
      for (const r of d.removed) rrs.push(cname(r));
      rrs.push(soa(zone.name, d.to));
      for (const r of d.added) rrs.push(cname(r));
    }
    rrs.push(soa(zone.name, zone.serial));
    return { messages: sign(chunks(rrs)), outcome: 'ixfr' };
  }
  return { messages: sign([base(4)]), outcome: 'other' };
}

const answerLength = (rr: dnsPacket.Answer): number =>
  (
    dnsPacket as unknown as { answer: { encodingLength(a: dnsPacket.Answer): number } }
  ).answer.encodingLength(rr);

/** The UDP answer size a request allows: 512, or its EDNS payload size (512–1232). */
function udpLimit(req: dnsPacket.Packet): number {
  const opt = req.additionals?.find((a) => a.type === 'OPT') as
    { udpPayloadSize?: number } | undefined;
  const size = opt?.udpPayloadSize;
  return size === undefined ? UDP_PLAIN : Math.max(UDP_PLAIN, Math.min(UDP_EDNS_MAX, size));
}

/**
 * REFUSED for a client outside the allowlist: the request's id and question echoed, nothing
 * else looked at (no TSIG check, no zone lookup). Null when the request cannot be read.
 */
export function refuse(raw: Buffer): Buffer | null {
  let req: dnsPacket.Packet;
  try {
    req = decodeDnsPacket(raw);
  } catch {
    return null;
  }
  if (req.type === 'response') return null;
  const q = req.questions?.[0];
  return dnsPacket.encode({
    type: 'response',
    id: req.id ?? 0,
    flags: ((req.flags ?? 0) & 0x7800) /* opcode */ | 5 /* REFUSED */,
    questions: q && echoable(raw, q) ? [q] : [],
  });
}

/** A NOTIFY (RFC 1996) for one zone, signed when a key is given. */
export function buildNotify(zone: string, serial: number, id: number, key?: TsigKey): Buffer {
  const wire = dnsPacket.encode({
    type: 'query',
    id,
    flags: (OPCODE_NOTIFY << 11) | dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ type: 'SOA', name: zone, class: 'IN' }],
    answers: [soa(zone, serial)],
  });
  return key ? signMessage(wire, key).msg : wire;
}
