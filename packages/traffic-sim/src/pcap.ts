import { createWriteStream } from 'node:fs';
import { isIPv6 } from 'node:net';
import { type Writable } from 'node:stream';
import { type QueryEvent } from '@sluice/contracts';
import { pcapHeader, pcapRecord, udpFrame } from './capture-writer';
import { encodeQuery, encodeResponse } from './wire';

export interface PcapOptions {
  /** The authoritative server the queries go to. */
  serverV4?: string;
  serverV6?: string;
  /** Also write the server's response for events that carry an rcode. */
  withResponses?: boolean;
}

/** The pcap records (query, and response when asked and known) for one event. */
export function pcapRecords(e: QueryEvent, options: PcapOptions = {}): Buffer[] {
  const server = isIPv6(e.resolver)
    ? (options.serverV6 ?? '2001:db8::53')
    : (options.serverV4 ?? '192.0.2.53');
  const client = { ip: e.resolver, port: e.resolverPort };
  const ns = { ip: server, port: 53 };
  const out = [pcapRecord(e.ts, udpFrame(client, ns, encodeQuery(e)))];
  if (options.withResponses && e.rcode !== null) {
    out.push(pcapRecord(e.ts + 0.2, udpFrame(ns, client, encodeResponse(e))));
  }
  return out;
}

/** Stream events into `out` as a pcap; resolves with the number of packets written. */
export async function writePcapTo(
  out: Writable,
  events: Iterable<QueryEvent>,
  options: PcapOptions = {},
): Promise<number> {
  const write = (chunk: Buffer) =>
    out.write(chunk) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r()));
  await write(pcapHeader(1)); // classic pcap, µs, LINKTYPE_ETHERNET
  let packets = 0;
  let pending: Buffer[] = [];
  for (const e of events) {
    for (const r of pcapRecords(e, options)) {
      pending.push(r);
      packets++;
    }
    if (pending.length >= 512) {
      await write(Buffer.concat(pending));
      pending = [];
    }
  }
  if (pending.length) await write(Buffer.concat(pending));
  return packets;
}

export async function writePcapFile(
  path: string,
  events: Iterable<QueryEvent>,
  options: PcapOptions = {},
): Promise<number> {
  const out = createWriteStream(path);
  const done = new Promise<void>((resolve, reject) => {
    out.once('finish', resolve);
    out.once('error', reject);
  });
  const packets = await writePcapTo(out, events, options);
  out.end();
  await done;
  return packets;
}
