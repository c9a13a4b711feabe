import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkBlocklist, type BlocklistCheck } from './blocklist';
import { measure, type Measurements } from './metrics';
import {
  defaultPeer,
  startBind,
  startDnsdist,
  startNsd,
  writeZoneFiles,
  type DnsdistPeerOptions,
} from './nameservers';
import { startPipeline, type Pipeline, type ServiceName } from './pipeline';
import { freePort, tail, until, type Daemon } from './procs';
import { createSender, type QueryLog } from './sender';
import {
  buildResolvers,
  defaultTraffic,
  planQueries,
  runLength,
  type Resolver,
  type TrafficOptions,
} from './traffic';
import { buildZones, type ZoneSpec } from './zones';

/**
 * - `baseline`: Sluice + dnsdist, Sluice in shadow mode (detects and publishes, enforces
 *   nothing): what load alone costs on this box, and what the blocklist would have been.
 * - `sluice-dnsdist`: Sluice's CDB files enforced by dnsdist in front of NSD; dnsdist is the sensor.
 * - `sluice-dnsdist-axfr`: the same, the zone guard also transferring each zone from NSD
 *   (GUARD_ZONE_AXFR, TSIG-signed) besides the names learned from traffic.
 * - `dnsdist-peer`: dnsdist's own suffix-match dynamic block in front of NSD, no Sluice.
 * - `sluice-bind`: BIND authoritative, Sluice's RPZ over AXFR/IXFR+NOTIFY+TSIG, BIND's dnstap as sensor.
 */
export const VARIANTS = [
  'baseline',
  'sluice-dnsdist',
  'sluice-dnsdist-axfr',
  'dnsdist-peer',
  'sluice-bind',
] as const;
export type Variant = (typeof VARIANTS)[number];

export const VARIANT_LABELS: Record<Variant, string> = {
  baseline: 'no mitigation (Sluice shadow) + dnsdist',
  'sluice-dnsdist': 'Sluice + dnsdist',
  'sluice-dnsdist-axfr': 'Sluice + dnsdist, guard transfers the zones (AXFR)',
  'dnsdist-peer': 'dnsdist peer (suffix-match dyn block)',
  'sluice-bind': 'Sluice + BIND RPZ',
};

export interface ClosedLoopOptions {
  variant: Variant;
  seed: number | string;
  /** Repository root. */
  root: string;
  kafkaBrokers: string;
  redisUrl: string;
  /** Name counts per zone (its length is the number of zones). */
  zoneSizes: readonly number[];
  traffic: Partial<Omit<TrafficOptions, 'seed' | 'zones'>>;
  /** A query unanswered after this long counts as dropped. */
  timeoutMs: number;
  peer?: DnsdistPeerOptions;
  /** Extra environment for the Sluice services (e.g. detector or reputation tuning). */
  extraEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Extra RPZ policy zones BIND must load (besides `<zone>.<origin>` per zone and `<origin>`). */
  extraPolicyZones?: readonly string[];
  /** Progress lines (stderr in the bench). */
  progress?: (line: string) => void;
  /** Keep the temp dir (configs, zone files, logs) for inspection. */
  keepDir?: boolean;
}

export interface ClosedLoopResult {
  variant: Variant;
  label: string;
  seed: number | string;
  zones: { zone: string; names: number; sharePct: number }[];
  attackedZones: string[];
  resolvers: { isp: number; public: number; bot: number };
  traffic: Omit<TrafficOptions, 'seed' | 'zones'>;
  measurements: Measurements;
  /** Null for the peer (it has no blocklist of its own to read). */
  blocklist: BlocklistCheck | null;
  /** Seconds from onset to the first `started` alert for an attacked zone seen on Kafka. */
  alertS: number | null;
  alerts: { zone: string; phase: string; atS: number }[];
  /** Decisions in the reputation HTTP feed (`GET /v1/blocklist?format=json`) at the end. */
  feedDecisionsAtEnd: number | null;
  wallSeconds: number;
}

const RPZ_ORIGIN = 'rpz.sluice';

export async function runClosedLoop(o: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const say = o.progress ?? (() => undefined);
  const traffic: Omit<TrafficOptions, 'seed' | 'zones'> = { ...defaultTraffic, ...o.traffic };
  const total = runLength({ ...traffic, seed: o.seed, zones: [] });
  const zones: ZoneSpec[] = buildZones({ seed: o.seed, sizes: o.zoneSizes, durationMs: total });
  const topts: TrafficOptions = { ...traffic, seed: o.seed, zones };
  const resolvers: Resolver[] = buildResolvers(topts);
  const zoneNames = zones.map((z) => z.zone);
  const dir = mkdtempSync(join(tmpdir(), `sluice-closed-loop-${o.variant}-`));
  const dnstapSocket = join(dir, 'dnstap.sock');
  const daemons: Daemon[] = [];
  let pipeline: Pipeline | null = null;
  const started = performance.now();
  let senderOpen: ReturnType<typeof createSender> | null = null;
  const allLogs = () => [...daemons.map((d) => tail(d, 4000)), pipeline?.logs() ?? ''].join('\n');

  try {
    const authPort = await freePort();
    const frontPort = await freePort();
    const protectedNetworks = resolvers.filter((r) => r.kind === 'public').map((r) => r.address);
    writeZoneFiles(dir, zones);
    // The guard's own copy of each zone, as an operator would give it: AXFR from the primary.
    const xfr =
      o.variant === 'sluice-dnsdist-axfr'
        ? { keyName: 'sluice-xfr', secret: randomBytes(32).toString('base64') }
        : undefined;
    const zoneDataEnv: Record<string, string> = xfr
      ? {
          GUARD_ZONE_AXFR: zones
            .map((z) => `${z.zone}=127.0.0.1:${authPort}@${xfr.keyName}`)
            .join(','),
          RPZ_TSIG_KEYS: `${xfr.keyName}:${xfr.secret}`,
        }
      : {};
    const extraEnv: Partial<Record<ServiceName, Record<string, string>>> = {
      ...o.extraEnv,
      reputation: { ...zoneDataEnv, ...(o.extraEnv?.reputation ?? {}) },
    };
    let target = frontPort;
    let policyOrigin: string | undefined;
    // What every Sluice variant's pipeline shares; each adds its enforcer.
    const common = {
      root: o.root,
      kafkaBrokers: o.kafkaBrokers,
      redisUrl: o.redisUrl,
      zones: zoneNames,
      dnstapSocket,
      protectedNetworks,
      extraEnv,
    };

    if (o.variant === 'sluice-bind') {
      const secret = randomBytes(32).toString('base64');
      pipeline = await startPipeline({
        ...common,
        rpz: {
          notify: `127.0.0.1:${authPort}`,
          tsig: `sluice-xfr:${secret}`,
          origin: RPZ_ORIGIN,
        },
      });
      say(`pipeline ready (topics ${pipeline.topics.queries}…)`);
      const policyZones = [
        ...zoneNames.map((z) => `${z}.${RPZ_ORIGIN}`),
        ...(o.extraPolicyZones ?? []),
        RPZ_ORIGIN,
      ];
      const bind = await startBind({
        dir,
        port: authPort,
        zones,
        rpz: {
          port: pipeline.rpzPort,
          origin: RPZ_ORIGIN,
          tsigName: 'sluice-xfr',
          tsigSecret: secret,
          policyZones,
        },
        dnstapSocket,
      });
      daemons.push(bind);
      await until(
        () =>
          policyZones.every((z) =>
            new RegExp(`zone ${z.replace(/\./g, '\\.')}/IN: transferred serial`).test(bind.log()),
          )
            ? true
            : undefined,
        60_000,
        () => `BIND to transfer every policy zone (${policyZones.join(', ')})\n${tail(bind)}`,
      );
      target = authPort;
      policyOrigin = RPZ_ORIGIN;
      say(`BIND ready on :${authPort}, ${policyZones.length} policy zones transferred`);
    } else {
      daemons.push(await startNsd(dir, authPort, zones, xfr));
      say(`NSD ready on :${authPort} (${zones.length} zones)`);
      if (o.variant === 'dnsdist-peer') {
        daemons.push(
          await startDnsdist({
            dir,
            port: frontPort,
            backendPort: authPort,
            checkZone: zoneNames[0]!,
            mode: { kind: 'peer', peer: o.peer ?? defaultPeer },
          }),
        );
      } else {
        const cdb = {
          clientsCdbPath: join(dir, 'sluice-clients.cdb'),
          guardCdbPath: join(dir, 'sluice-guard.cdb'),
        };
        pipeline = await startPipeline({
          ...common,
          // dnsdist reloads the stores on the reputation service's NOTIFY, as deployed.
          dnsdist: { ...cdb, notify: `127.0.0.1:${frontPort}` },
          shadow: o.variant === 'baseline',
        });
        say(`pipeline ready (topics ${pipeline.topics.queries}…)`);
        const p = pipeline;
        await until(
          () => (existsSync(cdb.clientsCdbPath) ? true : undefined),
          20_000,
          () => `the reputation service to write ${cdb.clientsCdbPath}\n${p.logs()}`,
        );
        daemons.push(
          await startDnsdist({
            dir,
            port: frontPort,
            backendPort: authPort,
            checkZone: zoneNames[0]!,
            dnstapSocket,
            mode: { kind: 'sluice', ...cdb, v4: [24], v6: [48] },
          }),
        );
      }
      say(`dnsdist ready on :${frontPort}`);
    }

    const abort = new AbortController();
    const state: { failure: Error | null } = { failure: null };
    const s = createSender({
      target: { host: '127.0.0.1', port: target },
      resolvers,
      plan: planQueries(topts, resolvers),
      timeoutMs: o.timeoutMs,
      policyOrigin,
      signal: abort.signal,
      onSecond: (atMs, log) => {
        for (const d of daemons)
          if (d.exited() && !state.failure)
            state.failure = new Error(`${d.name} died mid-run\n${tail(d)}`);
        try {
          pipeline?.assertAlive();
        } catch (e) {
          state.failure ??= e as Error;
        }
        if (state.failure) abort.abort();
        const sec = Math.round(atMs / 1000);
        if (sec % 15 === 0) say(`t=${sec}s sent ${log.size}`);
      },
    });
    senderOpen = s;
    await s.open();
    say(`${resolvers.length} resolver sockets bound; sending for ${total / 1000} s`);
    const log: QueryLog = await s.run();
    if (state.failure) throw state.failure;

    const measurements = measure({ log, resolvers, zones: zoneNames, attacked: traffic.attacked });
    const onsetAt = measurements.onsetS === null ? null : s.startedAt + measurements.onsetS * 1000;
    let blocklist: BlocklistCheck | null = null;
    let feedDecisionsAtEnd: number | null = null;
    let alertS: number | null = null;
    let alerts: ClosedLoopResult['alerts'] = [];
    if (pipeline) {
      const legitSenders = new Set<number>();
      for (let i = 0; i < log.size; i++) if (log.cls[i]! < 3) legitSenders.add(log.resolver[i]!);
      blocklist = checkBlocklist({ records: pipeline.blocklist, resolvers, legitSenders, onsetAt });
      const feed = await pipeline.get('reputation', '/v1/blocklist?format=json');
      if (feed.status === 200)
        feedDecisionsAtEnd = ((JSON.parse(feed.body) as { decisions?: unknown[] }).decisions ?? [])
          .length;
      const attackedNames = new Set(traffic.attacked.map((i) => zoneNames[i]));
      alerts = pipeline.alerts.map((a) => ({
        zone: a.zone,
        phase: a.phase,
        atS: onsetAt === null ? NaN : (a.seenAt - onsetAt) / 1000,
      }));
      const first = pipeline.alerts.find((a) => a.phase === 'started' && attackedNames.has(a.zone));
      alertS = first && onsetAt !== null ? (first.seenAt - onsetAt) / 1000 : null;
    }
    return {
      variant: o.variant,
      label: VARIANT_LABELS[o.variant],
      seed: o.seed,
      zones: zones.map((z) => ({ zone: z.zone, names: z.names.length, sharePct: 100 * z.share })),
      attackedZones: traffic.attacked.map((i) => zoneNames[i]!),
      resolvers: {
        isp: resolvers.filter((r) => r.kind === 'isp').length,
        public: resolvers.filter((r) => r.kind === 'public').length,
        bot: resolvers.filter((r) => r.kind === 'bot').length,
      },
      traffic,
      measurements,
      blocklist,
      alertS,
      alerts,
      feedDecisionsAtEnd,
      wallSeconds: (performance.now() - started) / 1000,
    };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(
      `closed loop (${o.variant}) failed: ${msg}\n\nDaemon logs:\n${allLogs()}${o.keepDir ? `\n(work dir kept: ${dir})` : ''}`,
    );
  } finally {
    await senderOpen?.close();
    for (const d of [...daemons].reverse()) await d.stop();
    await pipeline?.stop();
    if (!o.keepDir) rmSync(dir, { recursive: true, force: true });
  }
}
