import * as dnsPacket from 'dns-packet';
import {
  type DnsDecodeResult,
  type MalformedDnsReason,
  INFLATED,
  inflatedCounts,
  summary,
} from './dns-summary';

// The reference decoder: dns-packet, reduced to a DnsSummary. The fast path in dns-decode.ts
// is proven equal to it (dns-decode.spec.ts) and hands it every message it does not cover.

function reasonOf(err: unknown): DnsDecodeResult {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  let reason: MalformedDnsReason = 'dns-malformed';
  if (message === 'Header must be 12 bytes') reason = 'dns-short-header';
  else if (message === 'Cannot decode name (buffer overflow)') reason = 'dns-label-overflow';
  else if (message === 'Cannot decode name (bad pointer)') reason = 'dns-bad-pointer';
  else if (message === 'Cannot decode name (name too long)') reason = 'dns-name-too-long';
  else if (message === 'Cannot decode name (bad label)') reason = 'dns-bad-label';
  else if (
    code === 'ERR_OUT_OF_RANGE' ||
    code === 'ERR_BUFFER_OUT_OF_BOUNDS' ||
    err instanceof RangeError
  )
    reason = 'dns-truncated';
  return { ok: false, reason, detail: message };
}

// dns-packet's own name tables (not re-exported by its index, nor typed by @types/dns-packet).
/* eslint-disable @typescript-eslint/no-require-imports */
const tables = {
  types: require('dns-packet/types') as { toType(name: string): number },
  classes: require('dns-packet/classes') as { toClass(name: string): number },
};
/* eslint-enable @typescript-eslint/no-require-imports */
function numericType(name: string): number {
  return name.startsWith('UNKNOWN_') ? Number(name.slice(8)) : tables.types.toType(name);
}
function numericClass(name: string): number {
  return name.startsWith('UNKNOWN_') ? Number(name.slice(8)) : tables.classes.toClass(name);
}

export function decodeDnsReference(buf: Buffer): DnsDecodeResult {
  if (buf.length >= 12 && inflatedCounts(buf, 0, buf.length))
    return { ok: false, reason: INFLATED.reason, detail: INFLATED.detail };
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(buf);
  } catch (err) {
    return reasonOf(err);
  }
  const q = packet.questions?.[0];
  if (!q) return { ok: false, reason: 'dns-no-question', detail: 'QDCOUNT is 0' };
  const opt = packet.additionals?.find((a) => a.type === 'OPT') as
    { udpPayloadSize: number; flag_do: boolean } | undefined;
  // dns-packet strips QR from `flags` and reports it as `type`.
  const flags = (packet.flags ?? 0) | (packet.type === 'response' ? 0x8000 : 0);
  return summary(
    packet.id ?? 0,
    flags,
    q.name.toLowerCase(),
    numericType(q.type),
    numericClass(q.class as string),
    opt ? opt.udpPayloadSize : null,
    opt ? opt.flag_do : false,
    packet.answers?.length ?? 0,
  );
}

/**
 * The EDNS Client Subnet address of a query, if any. dnsdist's TeeAction(…, addECS=true) puts
 * the original client there; the mirror copy itself comes from dnsdist's own address.
 */
export function clientSubnetAddress(buf: Buffer): string | null {
  if (buf.length < 12 || buf.readUInt16BE(10) === 0 || inflatedCounts(buf, 0, buf.length))
    return null;
  try {
    const packet = dnsPacket.decode(buf);
    for (const rr of packet.additionals ?? []) {
      if (rr.type !== 'OPT') continue;
      for (const option of (rr as { options?: { code: number; ip?: string }[] }).options ?? []) {
        if (option.code === 8 && option.ip) return option.ip;
      }
    }
  } catch {
    // malformed: the normal decode path counts it
  }
  return null;
}
