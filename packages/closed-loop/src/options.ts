import { VARIANTS, type ClosedLoopOptions, type Variant } from './run';
import { type TrafficOptions } from './traffic';

/**
 * Every knob of a closed-loop run, from the environment (`CLOSED_LOOP_*`) or `--name=value`
 * flags (the flag `--legit-qps=800` sets `CLOSED_LOOP_LEGIT_QPS`). Unknown or malformed values
 * stop with a message naming the variable.
 */
export const CLOSED_LOOP_SETTINGS = {
  SEEDS: 'comma list of seeds (each gives other zones, resolvers, names and timing), default 1',
  VARIANTS: `comma list of ${VARIANTS.join(', ')}; default all`,
  ZONE_SIZES:
    'names per zone, comma list (its length is the zone count), default 4000,2500,800,300,150,60,1500,100',
  ATTACKED: 'indices of the attacked zones, default 1',
  LEGIT_QPS: 'legitimate queries/s over all zones, default 500',
  FLOOD_MULTIPLIER: "flood rate as a multiple of the attacked zone's legitimate rate, default 5",
  SHARED_SHARE: 'share of the flood carried by resolvers that also carry users, default 0.5',
  MIRAI_SHARE: 'share of the flood that is Mirai-style (rest: <rand>.<existing name>), default 0.7',
  ISP_RESOLVERS: 'ISP resolvers (Zipf-sized), default 2400',
  PUBLIC_RESOLVERS: 'public resolvers (many users each), default 8',
  BOT_RESOLVERS: 'bot-only resolvers, default 600',
  PUBLIC_SHARE: 'share of legitimate traffic via public resolvers, default 0.25',
  WARMUP_S: 'seconds of legitimate traffic before the flood (detector warm-up is 30 s), default 90',
  FLOOD_S: 'seconds of flood, default 60',
  TAIL_S: 'seconds after the flood, default 30',
  TIMEOUT_MS: 'a query unanswered after this long counts as dropped, default 2000',
  RPZ_EXTRA_ZONES: 'extra RPZ policy zones BIND loads (e.g. zone guards), comma list',
} as const;
export type ClosedLoopSetting = keyof typeof CLOSED_LOOP_SETTINGS;

export interface BenchPlan {
  seeds: (number | string)[];
  variants: Variant[];
  base: Omit<ClosedLoopOptions, 'variant' | 'seed' | 'root' | 'kafkaBrokers' | 'redisUrl'>;
}

/** `--legit-qps=800` → CLOSED_LOOP_LEGIT_QPS=800. */
export function settingsFromArgs(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}: use --name=value (${flagList()})`);
    out[`CLOSED_LOOP_${m[1]!.toUpperCase().replace(/-/g, '_')}`] = m[2]!;
  }
  return out;
}

const flagList = () =>
  Object.keys(CLOSED_LOOP_SETTINGS)
    .map((k) => `--${k.toLowerCase().replace(/_/g, '-')}`)
    .join(', ');

export function planFromEnv(env: Record<string, string | undefined>): BenchPlan {
  for (const k of Object.keys(env))
    if (k.startsWith('CLOSED_LOOP_') && !(k.slice('CLOSED_LOOP_'.length) in CLOSED_LOOP_SETTINGS))
      throw new Error(`unknown setting ${k}: known are ${flagList()}`);
  const get = (k: ClosedLoopSetting) => env[`CLOSED_LOOP_${k}`];
  const num = (k: ClosedLoopSetting, dflt: number, min = 0, max = Infinity): number => {
    const v = get(k);
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(`CLOSED_LOOP_${k}=${v}: must be a number in [${min}, ${max}]`);
    return n;
  };
  const list = (k: ClosedLoopSetting, dflt: string): string[] =>
    (get(k) || dflt)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const variants = list('VARIANTS', VARIANTS.join(','));
  for (const v of variants)
    if (!(VARIANTS as readonly string[]).includes(v))
      throw new Error(`CLOSED_LOOP_VARIANTS: unknown variant ${v} (${VARIANTS.join(', ')})`);
  const zoneSizes = list('ZONE_SIZES', '4000,2500,800,300,150,60,1500,100').map(Number);
  if (zoneSizes.some((n) => !Number.isInteger(n) || n < 10))
    throw new Error('CLOSED_LOOP_ZONE_SIZES: must be integers ≥ 10');
  const attacked = list('ATTACKED', '1').map(Number);
  if (attacked.some((i) => !Number.isInteger(i) || i < 0 || i >= zoneSizes.length))
    throw new Error(`CLOSED_LOOP_ATTACKED: must be zone indices in [0, ${zoneSizes.length - 1}]`);
  const traffic: Partial<Omit<TrafficOptions, 'seed' | 'zones'>> = {
    attacked,
    legitQps: num('LEGIT_QPS', 500, 1),
    floodMultiplier: num('FLOOD_MULTIPLIER', 5, 0),
    floodSharedShare: num('SHARED_SHARE', 0.5, 0, 1),
    floodMiraiShare: num('MIRAI_SHARE', 0.7, 0, 1),
    ispResolvers: num('ISP_RESOLVERS', 2400, 1, 20_000),
    publicResolvers: num('PUBLIC_RESOLVERS', 8, 0, 250),
    botResolvers: num('BOT_RESOLVERS', 600, 0, 20_000),
    publicShare: num('PUBLIC_SHARE', 0.25, 0, 1),
    warmupMs: num('WARMUP_S', 90, 1) * 1000,
    floodMs: num('FLOOD_S', 60, 1) * 1000,
    tailMs: num('TAIL_S', 30, 0) * 1000,
  };
  return {
    seeds: list('SEEDS', '1').map((s) => (/^\d+$/.test(s) ? Number(s) : s)),
    variants: variants as Variant[],
    base: {
      zoneSizes,
      traffic,
      timeoutMs: num('TIMEOUT_MS', 2000, 100),
      extraPolicyZones: list('RPZ_EXTRA_ZONES', ''),
    },
  };
}
