/**
 * Writer (and reader, for tests) for D. J. Bernstein's constant database format, which dnsdist's
 * newCDBKVStore() reads and reloads when the file changes. Format: 256 (pos, len) table pointers,
 * records (klen, dlen, key, data), then 256 open-addressed hash tables; all integers u32 LE.
 */
export function cdbHash(key: Uint8Array): number {
  let h = 5381;
  for (const c of key) h = (((h << 5) + h) ^ c) >>> 0;
  return h >>> 0;
}

export function writeCdb(records: Iterable<[Uint8Array, Uint8Array]>): Buffer {
  const parts: Buffer[] = [];
  const buckets: Array<Array<[number, number]>> = Array.from({ length: 256 }, () => []);
  let pos = 2048;
  for (const [key, data] of records) {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(key.length, 0);
    head.writeUInt32LE(data.length, 4);
    parts.push(head, Buffer.from(key), Buffer.from(data));
    const h = cdbHash(key);
    buckets[h & 255]!.push([h, pos]);
    pos += 8 + key.length + data.length;
  }
  const header = Buffer.alloc(2048);
  const tables: Buffer[] = [];
  buckets.forEach((bucket, i) => {
    const len = bucket.length * 2;
    header.writeUInt32LE(pos, i * 8);
    header.writeUInt32LE(len, i * 8 + 4);
    const table = Buffer.alloc(len * 8);
    for (const [h, p] of bucket) {
      let slot = (h >>> 8) % len;
      while (table.readUInt32LE(slot * 8 + 4) !== 0) slot = (slot + 1) % len;
      table.writeUInt32LE(h, slot * 8);
      table.writeUInt32LE(p, slot * 8 + 4);
    }
    tables.push(table);
    pos += table.length;
  });
  return Buffer.concat([header, ...parts, ...tables]);
}

export function readCdb(file: Buffer, key: Uint8Array): Buffer | null {
  const h = cdbHash(key);
  const tpos = file.readUInt32LE((h & 255) * 8);
  const tlen = file.readUInt32LE((h & 255) * 8 + 4);
  if (tlen === 0) return null;
  let slot = (h >>> 8) % tlen;
  for (let i = 0; i < tlen; i++) {
    const sh = file.readUInt32LE(tpos + slot * 8);
    const sp = file.readUInt32LE(tpos + slot * 8 + 4);
    if (sp === 0) return null;
    if (sh === h) {
      const klen = file.readUInt32LE(sp);
      const dlen = file.readUInt32LE(sp + 4);
      if (Buffer.compare(file.subarray(sp + 8, sp + 8 + klen), Buffer.from(key)) === 0)
        return file.subarray(sp + 8 + klen, sp + 8 + klen + dlen);
    }
    slot = (slot + 1) % tlen;
  }
  return null;
}
