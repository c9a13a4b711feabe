import { type BlocklistEntry } from '@sluice/contracts';
import { maskBytes, parseNetwork } from './ip';
import { normalizeZone } from './policy';
import { writeCdb } from './cdb';

/**
 * Key-value content for dnsdist's CDB store. Key: the client address in network byte order,
 * masked to one of `prefixLengths` (dnsdist's KeyValueLookupKeySourceIP(mask) builds the same
 * bytes). Value: `zone action;zone action…`, zone `.` meaning every zone. The Lua in
 * dnsdistConfigLua() picks the first rule whose zone contains the qname.
 */
export function dnsdistKv(
  entries: Iterable<BlocklistEntry>,
  prefixLengths: { v4: readonly number[]; v6: readonly number[] },
): Map<string, string> {
  const values = new Map<string, string[]>();
  for (const e of entries) {
    if (e.shadow) continue;
    const s = e.scope;
    const addresses =
      s.kind === 'prefix' ? [s.prefix] : s.kind === 'asn' ? (e.networks ?? []) : [s.resolver];
    const zone = s.kind === 'resolver-zone' ? normalizeZone(s.zone) : '.';
    for (const address of addresses) {
      let net;
      try {
        net = parseNetwork(address);
      } catch {
        continue;
      }
      const lengths =
        net.bytes.length === 4 ? [32, ...prefixLengths.v4] : [128, ...prefixLengths.v6];
      // dnsdist looks up fixed masks only; other lengths cannot match and are left out.
      if (!lengths.includes(net.prefixLength)) continue;
      const key = Buffer.from(maskBytes(net.bytes, net.prefixLength)).toString('latin1');
      let list = values.get(key);
      if (!list) values.set(key, (list = []));
      // Zone-specific rules first, so a (resolver, zone) action wins over an outright one.
      if (zone === '.') list.push(`. ${e.action}`);
      else list.unshift(`${zone} ${e.action}`);
    }
  }
  return new Map([...values].map(([k, v]) => [k, v.join(';')]));
}

export function dnsdistCdb(kv: Map<string, string>): Buffer {
  return writeCdb(
    [...kv].map(([k, v]) => [Buffer.from(k, 'latin1'), Buffer.from(v)] as [Uint8Array, Uint8Array]),
  );
}

/** The dnsdist configuration lines that enforce the CDB file (documented in the README). */
export function dnsdistConfigLua(
  cdbPath: string,
  v4: readonly number[],
  v6: readonly number[],
): string {
  const masks: Array<[number, number]> = [[32, 128]];
  for (let i = 0; i < Math.max(v4.length, v6.length); i++) masks.push([v4[i] ?? 32, v6[i] ?? 128]);
  const lookups = masks
    .map(
      ([a, b], i) =>
        `addAction(AllRule(), KeyValueStoreLookupAction(sluiceKvs, KeyValueLookupKeySourceIP(${a}, ${b}), "sluice${i}"))`,
    )
    .join('\n');
  return `-- Sluice: (resolver, zone) blocks from a CDB file that dnsdist re-reads every second
sluiceKvs = newCDBKVStore(${JSON.stringify(cdbPath)}, 1)
${lookups}
local sluiceActions = { drop = DNSAction.Drop, refused = DNSAction.Refused, nxdomain = DNSAction.Nxdomain, truncate = DNSAction.Truncate }
function sluiceDecide(dq)
  for i = 0, ${masks.length - 1} do
    local v = dq:getTag("sluice" .. i)
    if v ~= nil and v ~= "" then
      for zone, act in string.gmatch(v, "([^ ;]+) ([^;]+)") do
        if zone == "." or dq.qname:isPartOf(newDNSName(zone)) then
          return sluiceActions[act] or DNSAction.None, ""
        end
      end
    end
  end
  return DNSAction.None, ""
end
addAction(AllRule(), LuaAction(sluiceDecide))
`;
}
