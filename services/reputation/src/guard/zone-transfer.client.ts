import { connect } from 'node:net';
import { randomInt } from 'node:crypto';
import { AxfrNameCollector, axfrQuery } from '../core/axfr-names';
import { signMessage, type TsigKey } from '../core/tsig';

export interface ZoneTransferSource {
  zone: string;
  host: string;
  port: number;
  key: TsigKey | null;
}

/**
 * Fetches a zone's owner names from its primary by AXFR over TCP (RFC 5936), signing the request
 * with TSIG when a key is configured. Bounded: gives up after `timeoutMs`; keeps at most
 * `maxNames` + 1 names (the guard marks its list truncated beyond `maxNames`).
 */
export function fetchZoneNames(
  src: ZoneTransferSource,
  o: { timeoutMs: number; maxNames: number },
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const collector = new AxfrNameCollector(src.zone, o.maxNames);
    let query = axfrQuery(src.zone, randomInt(65536));
    if (src.key) query = signMessage(query, src.key).msg;
    const socket = connect({ host: src.host, port: src.port });
    let buf = Buffer.alloc(0);
    const fail = (e: Error) => {
      socket.destroy();
      reject(e);
    };
    socket.setTimeout(o.timeoutMs, () =>
      fail(new Error(`AXFR of ${src.zone} from ${src.host}:${src.port} timed out`)),
    );
    socket.on('error', (e) =>
      fail(new Error(`AXFR of ${src.zone} from ${src.host}:${src.port}: ${e.message}`)),
    );
    socket.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      socket.write(Buffer.concat([len, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const n = buf.readUInt16BE(0);
          const done = collector.add(buf.subarray(2, 2 + n));
          buf = buf.subarray(2 + n);
          if (done) {
            socket.end();
            resolve(done);
            return;
          }
        }
      } catch (e) {
        fail(e instanceof Error ? e : new Error(String(e)));
      }
    });
    socket.on('end', () =>
      fail(new Error(`AXFR of ${src.zone}: the primary closed the connection early`)),
    );
  });
}
