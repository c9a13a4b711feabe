import { Controller, Inject, type Type } from '@nestjs/common';
import { Ctx, EventPattern, type KafkaContext } from '@nestjs/microservices';
import {
  alertSchema,
  blocklistEntrySchema,
  decodeMessage,
  enrichedOffenderSchema,
  zoneStatsSchema,
} from '@sluice/contracts';
import { type ConsoleConfig } from '../config/console.config';
import { ConsoleState } from '../console.state';

export interface ConsoleTopics {
  alerts: string;
  zoneStats: string;
  offenders: string;
  blocklist: string;
}

export function consoleTopics(config: ConsoleConfig): ConsoleTopics {
  return {
    alerts: config.CONSOLE_ALERTS_TOPIC,
    zoneStats: config.CONSOLE_ZONE_STATS_TOPIC,
    offenders: config.CONSOLE_OFFENDERS_TOPIC,
    blocklist: config.CONSOLE_BLOCKLIST_TOPIC,
  };
}

/**
 * The console's Kafka handlers (Nest's Kafka transport, `@EventPattern` per topic). Topic names
 * come from config, so the class is made per configuration. The transport keeps values binary
 * (`parser.keepBinary`) and each handler validates with the contracts' own decoder; a bad record
 * is counted and skipped, never thrown (a throw would stall the partition).
 */
export function consoleEventsController(topics: ConsoleTopics): Type {
  @Controller()
  class ConsoleEventsConsumer {
    constructor(@Inject(ConsoleState) private readonly state: ConsoleState) {}

    @EventPattern(topics.alerts)
    alert(@Ctx() ctx: KafkaContext): void {
      this.handle('alerts', ctx, (v) => this.state.view.applyAlert(decodeMessage(alertSchema, v)));
    }

    @EventPattern(topics.zoneStats)
    zoneStats(@Ctx() ctx: KafkaContext): void {
      this.handle('zone-stats', ctx, (v) =>
        this.state.view.applyZoneStats(decodeMessage(zoneStatsSchema, v)),
      );
    }

    @EventPattern(topics.offenders)
    offender(@Ctx() ctx: KafkaContext): void {
      this.handle('offenders', ctx, (v) =>
        this.state.view.applyOffender(decodeMessage(enrichedOffenderSchema, v)),
      );
    }

    @EventPattern(topics.blocklist)
    blocklist(@Ctx() ctx: KafkaContext): void {
      this.handle('blocklist', ctx, (v, key) => {
        if (v === null) {
          if (key) this.state.view.applyBlocklist(key, null);
          return;
        }
        const entry = decodeMessage(blocklistEntrySchema, v);
        this.state.view.applyBlocklist(key ?? entry.id, entry);
      });
    }

    private handle(
      topic: string,
      ctx: KafkaContext,
      apply: (value: Buffer | null, key: string | null) => void,
    ): void {
      const message = ctx.getMessage() as { key: unknown; value: unknown };
      const value = Buffer.isBuffer(message.value) ? message.value : null;
      const key = message.key === null || message.key === undefined ? null : keyText(message.key);
      try {
        apply(value, key);
        this.state.consumed(topic);
      } catch (error) {
        this.state.bad(topic, error);
      }
    }
  }
  return ConsoleEventsConsumer;
}

/** Nest's parser turns a key that looks like JSON into an object; ours are plain strings. */
function keyText(key: unknown): string {
  if (typeof key === 'string') return key;
  if (Buffer.isBuffer(key)) return key.toString('utf8');
  return JSON.stringify(key);
}
