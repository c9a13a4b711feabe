import { type Redis } from 'ioredis';
import { alertSchema, knownNamesSchema, type Alert, type KnownNames } from '@sluice/contracts';
import { type GuardInputs } from '../core/zone-guard';

const DAY_MS = 24 * 3600_000;

/**
 * What each zone's guard is decided from — the latest alert, the known names, the latest leak
 * measurement — kept in Redis so a restarted service (or another instance) decides the same.
 * Names are cached in memory too: they are large and read on every offender window.
 */
export class GuardRepository {
  private readonly names = new Map<string, KnownNames>();

  constructor(private readonly redis: Redis) {}

  async setAlert(zone: string, alert: Alert): Promise<void> {
    await this.redis.set(`guard:a:${zone}`, JSON.stringify(alert), 'PX', DAY_MS);
  }

  async setNames(zone: string, names: KnownNames): Promise<void> {
    this.names.set(zone, names);
    await this.redis.set(`guard:n:${zone}`, JSON.stringify(names), 'PX', DAY_MS);
  }

  async setLeak(
    zone: string,
    leak: { qps: number; share: number; alertId: string | null },
  ): Promise<void> {
    await this.redis.set(`guard:l:${zone}`, JSON.stringify(leak), 'PX', DAY_MS);
  }

  /** Null while no alert is known for the zone. */
  async inputs(zone: string): Promise<Omit<GuardInputs, 'zoneData'> | null> {
    const cached = this.names.get(zone);
    const [a, l, n] = await this.redis.mget(
      `guard:a:${zone}`,
      `guard:l:${zone}`,
      ...(cached ? [] : [`guard:n:${zone}`]),
    );
    if (!a) return null;
    const alert = alertSchema.parse(JSON.parse(a));
    let names = cached ?? null;
    if (!cached && n) {
      names = knownNamesSchema.parse(JSON.parse(n));
      this.names.set(zone, names);
    }
    const leak = l ? (JSON.parse(l) as { qps: number; share: number; alertId: string }) : null;
    // A leak measured for an earlier alert says nothing about this one.
    return { alert, names, leak: leak?.alertId === alert.alertId ? leak : null };
  }
}
