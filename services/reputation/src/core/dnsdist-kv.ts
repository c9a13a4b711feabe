import { type BlockAction, type BlocklistEntry } from '@sluice/contracts';
import { maskBytes, normaliseName, parseNetwork } from '@sluice/dns';
import { scopeAddresses, scopeZone } from './scope';
import { writeCdb } from './cdb';
import { nameToWire } from './tsig';

/**
 * Per-client content for dnsdist's CDB store. Key: the client address in network byte order,
 * masked to one of `prefixLengths` (dnsdist's KeyValueLookupKeySourceIP(mask) builds the same
 * bytes). Value: `zone action;zone action…`, zone `.` meaning every zone, action `guard` meaning
 * "this client gets the zone's guard". Zone guards themselves go to the guard store.
 */
export function dnsdistKv(
  entries: Iterable<BlocklistEntry>,
  prefixLengths: { v4: readonly number[]; v6: readonly number[] },
): Map<string, string> {
  const values = new Map<string, string[]>();
  for (const e of entries) {
    if (e.shadow || e.scope.kind === 'zone') continue;
    const zone = scopeZone(e.scope) ?? '.';
    for (const address of scopeAddresses(e)) {
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

/** A name in DNS wire format, lower case: what KeyValueLookupKeySuffix(0, true) looks up. */
export const wireName = nameToWire;

/**
 * The zone guards for dnsdist, one store, two key spaces that cannot collide (wire names end in a
 * zero byte, text names never contain one):
 * - the guarded zone, wire format → `all:<action>` or `offenders:<action>`; allowlisted subtrees
 *   under it → `pass` (the suffix lookup takes the longest match first);
 * - each known name, text (lower case, no trailing dot, as KeyValueLookupKeyQName(false)) → `1`.
 */
export function dnsdistGuardKv(entries: Iterable<BlocklistEntry>): Array<[Buffer, Buffer]> {
  const out = new Map<string, [Buffer, Buffer]>();
  const put = (k: Buffer, v: string) => out.set(k.toString('latin1'), [k, Buffer.from(v)]);
  for (const e of entries) {
    if (e.shadow || e.scope.kind !== 'zone' || !e.guard) continue;
    put(wireName(e.scope.zone), `${e.guard.appliesTo}:${e.action}`);
    for (const sub of e.guard.allowedSubtrees ?? []) put(wireName(sub), 'pass');
    for (const n of e.guard.knownNames) put(Buffer.from(normaliseName(n), 'latin1'), '1');
  }
  return [...out.values()];
}

export function dnsdistCdb(kv: Map<string, string>): Buffer {
  return writeCdb(
    [...kv].map(([k, v]) => [Buffer.from(k, 'latin1'), Buffer.from(v)] as [Uint8Array, Uint8Array]),
  );
}

export function dnsdistGuardCdb(entries: Iterable<BlocklistEntry>): Buffer {
  return writeCdb(dnsdistGuardKv(entries));
}

/** dnsdist's action for a Sluice action (guard entries are enforced by the guard rules). */
export function dnsdistAction(a: Exclude<BlockAction, 'guard'>): string {
  switch (a) {
    case 'drop':
      return 'DropAction()';
    case 'refused':
      return 'RCodeAction(DNSRCode.REFUSED)';
    case 'nxdomain':
      return 'RCodeAction(DNSRCode.NXDOMAIN)';
    case 'truncate':
      return 'TCAction()';
  }
}

export interface DnsdistConfigOptions {
  /** Per-client store (DNSDIST_CDB_PATH). */
  clientsCdbPath: string;
  /** Zone guard store (DNSDIST_GUARD_CDB_PATH). */
  guardCdbPath: string;
  v4: readonly number[];
  v6: readonly number[];
}

const guardActions = ['refused', 'drop', 'nxdomain', 'truncate'] as const;

/**
 * The dnsdist configuration that enforces both stores (documented in the README). The zone guard
 * runs on key-value lookups and tag rules only; Lua runs only for clients the per-client store
 * lists, to match their zone-specific refusals.
 */
export function dnsdistConfigLua(o: DnsdistConfigOptions): string {
  const masks: Array<[number, number]> = [[32, 128]];
  for (let i = 0; i < Math.max(o.v4.length, o.v6.length); i++)
    masks.push([o.v4[i] ?? 32, o.v6[i] ?? 128]);
  const listed = masks.map(
    ([a, b]) => `KeyValueStoreLookupRule(sluiceClients, KeyValueLookupKeySourceIP(${a}, ${b}))`,
  );
  const lines = [
    '-- Sluice (generated): zone guards and per-client blocks from CDB files dnsdist re-reads',
    `sluiceGuard = newCDBKVStore(${JSON.stringify(o.guardCdbPath)}, 1)`,
    `sluiceClients = newCDBKVStore(${JSON.stringify(o.clientsCdbPath)}, 1)`,
    '-- Zone guard: is the qname under a guarded zone ("all:<action>", "offenders:<action>", "pass")?',
    'addAction(AllRule(), KeyValueStoreLookupAction(sluiceGuard, KeyValueLookupKeySuffix(0, true), "sluice.zone"))',
    '-- …and is it one of the names the zone really has? ("1", else "")',
    'addAction(NotRule(TagRule("sluice.zone", "")), KeyValueStoreLookupAction(sluiceGuard, KeyValueLookupKeyQName(false), "sluice.known"))',
  ];
  for (const a of guardActions) {
    lines.push(
      `addAction(AndRule({TagRule("sluice.zone", "all:${a}"), TagRule("sluice.known", "")}), ${dnsdistAction(a)}, {name="sluice-guard-all-${a}"})`,
    );
    listed.forEach((rule, i) =>
      lines.push(
        `addAction(AndRule({TagRule("sluice.zone", "offenders:${a}"), TagRule("sluice.known", ""), ${rule}}), ${dnsdistAction(a)}, {name="sluice-guard-offenders-${a}-${i}"})`,
      ),
    );
  }
  lines.push(
    '-- Per-client entries (zone-scoped refusals, opt-in outright blocks): only listed clients reach Lua',
    ...masks.map(
      ([a, b], i) =>
        `addAction(${listed[i]}, KeyValueStoreLookupAction(sluiceClients, KeyValueLookupKeySourceIP(${a}, ${b}), "sluice${i}"))`,
    ),
    'local sluiceActions = { drop = DNSAction.Drop, refused = DNSAction.Refused, nxdomain = DNSAction.Nxdomain, truncate = DNSAction.Truncate }',
    'function sluiceDecide(dq)',
    `  for i = 0, ${masks.length - 1} do`,
    '    local v = dq:getTag("sluice" .. i)',
    '    if v ~= nil and v ~= "" then',
    '      for zone, act in string.gmatch(v, "([^ ;]+) ([^;]+)") do',
    '        if act ~= "guard" and (zone == "." or dq.qname:isPartOf(newDNSName(zone))) then',
    '          return sluiceActions[act] or DNSAction.None, ""',
    '        end',
    '      end',
    '    end',
    '  end',
    '  return DNSAction.None, ""',
    'end',
    `addAction(OrRule({${listed.join(', ')}}), LuaAction(sluiceDecide), {name="sluice-clients"})`,
  );
  return `${lines.join('\n')}\n`;
}
