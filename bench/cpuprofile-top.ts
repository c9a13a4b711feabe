/**
 * Self time per function in a V8 .cpuprofile (what `node --cpu-prof` or the inspector writes),
 * grouped by function + file + line, and by where the code lives (this repository's packages and
 * services, kafkajs, other node_modules, Node's internals, GC). Used by `pnpm bench e2e` with
 * E2E_PROFILE=1; also runnable on any profile:
 *   node --require @swc-node/register bench/cpuprofile-top.ts <file.cpuprofile> [top] [function…]
 * (functions named after `top`: their inclusive time too)
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  /** Where: repository-relative file:line, node_modules package, or a V8 pseudo-frame. */
  where: string;
  area: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  /** Sampled time, ms (idle included). */
  totalMs: number;
  /** Sampled time minus (idle), ms: the CPU the profile saw. */
  busyMs: number;
  top: SelfTime[];
  /** Busy time per area, ms, largest first. */
  areas: [string, number][];
}

function locate(url: string, line: number): { where: string; area: string } {
  if (url === '') return { where: '', area: 'V8/native' };
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    const file = rest.slice(pkg.split('/').length).join('/');
    return { where: `${pkg}/${file}:${line + 1}`, area: pkg === 'kafkajs' ? 'kafkajs' : pkg };
  }
  if (path.startsWith('node:')) return { where: `${path}:${line + 1}`, area: 'node internals' };
  const m = /\/(services|packages|apps)\/([^/]+)\/(.*)$/.exec(path);
  if (m) return { where: `${m[1]}/${m[2]}/${m[3]}:${line + 1}`, area: `@sluice/${m[2]}` };
  return { where: `${path}:${line + 1}`, area: 'other' };
}

export function summariseProfile(path: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; the sample's node ran for the following delta.
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const fns = new Map<string, { name: string; where: string; area: string; us: number }>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    totalUs += us;
    if (f.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const { where, area } = locate(f.url, f.lineNumber);
    const name = f.functionName || '(anonymous)';
    const pseudo = name.startsWith('(') && f.url === '';
    const key = `${name}\0${where}`;
    const entry = fns.get(key) ?? {
      name,
      where,
      area: pseudo ? (name === '(garbage collector)' ? 'GC' : 'V8/native') : area,
      us: 0,
    };
    entry.us += us;
    fns.set(key, entry);
  }
  const busyUs = totalUs - idleUs;
  const areas = new Map<string, number>();
  for (const f of fns.values()) areas.set(f.area, (areas.get(f.area) ?? 0) + f.us / 1000);
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    top: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({
        name: f.name,
        where: f.where,
        area: f.area,
        ms: f.us / 1000,
        share: busyUs > 0 ? f.us / busyUs : 0,
      })),
    areas: [...areas].sort((a, b) => b[1] - a[1]),
  };
}

/**
 * Inclusive time (self + everything it called) of the functions named, ms: where a stage's time
 * goes, whichever helpers it spends it in. A function on the stack twice counts once.
 */
export function inclusiveTimes(path: string, names: readonly string[]): Map<string, number> {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const wanted = new Set(names);
  const out = new Map<string, number>(names.map((n) => [n, 0]));
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = Math.max(0, profile.timeDeltas[i + 1] ?? 0) / 1000;
    const seen = new Set<string>();
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const name = byId.get(id)!.callFrame.functionName;
      if (wanted.has(name) && !seen.has(name)) {
        seen.add(name);
        out.set(name, out.get(name)! + dt);
      }
    }
  }
  return out;
}

if (require.main === module) {
  const [file, n, ...inclusive] = process.argv.slice(2);
  if (!file) throw new Error('usage: cpuprofile-top.ts <file.cpuprofile> [top] [function…]');
  const s = summariseProfile(file, Number(n ?? 25));
  if (inclusive.length)
    for (const [name, t] of inclusiveTimes(file, inclusive))
      process.stdout.write(
        `inclusive ${name}: ${t.toFixed(0)} ms (${((100 * t) / s.busyMs).toFixed(1)} % of busy)\n`,
      );
  process.stdout.write(
    `busy ${(s.busyMs / 1000).toFixed(2)} s of ${(s.totalMs / 1000).toFixed(2)} s sampled\n`,
  );
  for (const [area, ms] of s.areas)
    process.stdout.write(`  ${area.padEnd(28)} ${((100 * ms) / s.busyMs).toFixed(1)} %\n`);
  for (const f of s.top)
    process.stdout.write(
      `${(100 * f.share).toFixed(1).padStart(5)} %  ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}\n`,
    );
}
