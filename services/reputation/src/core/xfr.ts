import * as dnsPacket from 'dns-packet';
import { normaliseName } from '@sluice/dns';
import { decodeDnsPacket } from './dns-wire';
import { type RpzRecord } from './rpz';
import { type RpzZoneSet, serialGt } from './rpz-zones';
import { signMessage, verifyMessage, type TsigKey } from './tsig';

const TTL = 60;
const RRS_PER_MESSAGE = 400;
const OPCODE_NOTIFY = 4;

export interface XfrOptions {
  keys: readonly TsigKey[];
  /** When keys exist, refuse unsigned transfers (SOA queries too). */
  requireTsig: boolean;
  now?: () => number;
}

export type XfrOutcome =
  'soa' | 'axfr' | 'ixfr' | 'ixfr-uptodate' | 'refused' | 'notauth' | 'formerr' | 'other';

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
  const sign = (packets: dnsPacket.Packet[]): Buffer[] => {
    const out: Buffer[] = [];
    let mac = priorMac;
    packets.forEach((p, i) => {
      const wire = dnsPacket.encode(p);
      if (!key) {
        out.push(wire);
        return;
      }
      const s = signMessage(wire, key, { priorMac: mac, timersOnly: i > 0, now });
      mac = s.mac;
      out.push(s.msg);
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
  const chunks = (rrs: dnsPacket.Answer[]): dnsPacket.Packet[] => {
    const packets: dnsPacket.Packet[] = [];
    for (let i = 0; i < rrs.length; i += RRS_PER_MESSAGE) {
      const p = base(0, rrs.slice(i, i + RRS_PER_MESSAGE));
      if (i > 0) p.questions = [];
      packets.push(p);
    }
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
