import { type Field } from './mutate';

/**
 * The length and count fields of a well-formed DNS message starting at `base`: header counts,
 * label lengths, compression pointers, rdlengths and EDNS option lengths — what the `field`
 * mutation lies about.
 */
export function dnsFields(buf: Buffer, base = 0): Field[] {
  const fields: Field[] = [4, 6, 8, 10].map((o) => ({ at: base + o, size: 2 }));
  if (buf.length < base + 12) return fields;
  let at = base + 12;
  const name = () => {
    while (at < buf.length) {
      const len = buf[at]!;
      if (len === 0) {
        at++;
        return;
      }
      if ((len & 0xc0) === 0xc0) {
        fields.push({ at, size: 2 });
        at += 2;
        return;
      }
      fields.push({ at, size: 1 });
      at += len + 1;
    }
  };
  const qd = buf.readUInt16BE(base + 4);
  const rr = buf.readUInt16BE(base + 6) + buf.readUInt16BE(base + 8) + buf.readUInt16BE(base + 10);
  for (let i = 0; i < qd && at < buf.length; i++) {
    name();
    at += 4;
  }
  for (let i = 0; i < rr && at + 10 <= buf.length; i++) {
    name();
    if (at + 10 > buf.length) break;
    const type = buf.readUInt16BE(at);
    const rdlen = buf.readUInt16BE(at + 8);
    fields.push({ at: at + 8, size: 2 });
    if (type === 41) {
      for (let o = at + 10; o + 4 <= at + 10 + rdlen; o += 4 + buf.readUInt16BE(o + 2))
        fields.push({ at: o + 2, size: 2 });
    }
    at += 10 + rdlen;
  }
  return fields;
}
