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
      // Speaking for the authoritative: without AA a resolver takes the answer as lame and tries
      // the next server (then SERVFAIL), instead of passing on the NXDOMAIN.
      return 'RCodeAction(DNSRCode.NXDOMAIN, {aa=true})';
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
  /**
   * Networks whose DNS NOTIFY makes dnsdist re-read both stores at once (the reputation
   * service's DNSDIST_NOTIFY); default loopback. Empty: no NOTIFY rule, the 1 s mtime poll only.
   */
  notifyFrom?: readonly string[];
  /** How often dnsdist checks the files' mtime, seconds (1; tests raise it to isolate NOTIFY). */
  pollSeconds?: number;
}

/** Where the reputation service's NOTIFY comes from when nothing else is configured. */
export const DEFAULT_NOTIFY_FROM = ['127.0.0.0/8', '::1/128'] as const;

const guardActions = ['refused', 'drop', 'nxdomain', 'truncate'] as const;

/**
 * A NOTIFY from the reputation service (sent after each write) reloads both stores now rather than
 * at dnsdist's next once-a-second mtime check (median 0.5 s, up to 1 s, of flood let through). The
 * reload is unconditional (CDBKVStore:reload()), so it also picks up a second write within the
 * same second. Answered as a NOTIFY acknowledgement; NOTIFYs from elsewhere fall through.
 */
function notifyLines(from: readonly string[]): string[] {
  if (from.length === 0) return [];
  return [
    '-- A NOTIFY from Sluice: re-read both stores now (else dnsdist polls their mtime each second)',
    'sluiceNotifiers = newNMG()',
    ...from.map((n) => `sluiceNotifiers:addMask(${JSON.stringify(n)})`),
    'function sluiceReload(dq)',
    '  sluiceGuard:reload()',
    '  sluiceClients:reload()',
    '  dq.dh:setQR(true)',
    '  dq.dh:setAA(true)',
    '  return DNSAction.HeaderModify, ""',
    'end',
    'addAction(AndRule({OpcodeRule(DNSOpcode.Notify), NetmaskGroupRule(sluiceNotifiers)}), LuaAction(sluiceReload), {name="sluice-notify"})',
  ];
}

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
    `sluiceGuard = newCDBKVStore(${JSON.stringify(o.guardCdbPath)}, ${o.pollSeconds ?? 1})`,
    `sluiceClients = newCDBKVStore(${JSON.stringify(o.clientsCdbPath)}, ${o.pollSeconds ?? 1})`,
    ...notifyLines(o.notifyFrom ?? DEFAULT_NOTIFY_FROM),
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
    '          if act == "nxdomain" then dq.dh:setAA(true) end',
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
