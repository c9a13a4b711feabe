import {
  type DynamicModule,
  Inject,
  Injectable,
  type INestApplication,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { type KafkaOptions } from '@nestjs/microservices';
import { kafkaConfigFrom } from '@sluice/config';
import { kafkaConnectionOptions } from '@sluice/kafka';
import {
  Counter,
  Gauge,
  PinoLogger,
  Readiness,
  Registry,
  ServiceKitModule,
} from '@sluice/service-kit';
import { type ConsoleConfig } from './config/console.config';
import { ConsoleState } from './console.state';
import { ConsoleController } from './http/console.controller';
import { ConsoleKafkaServer } from './kafka/console-kafka.server';
import { consoleEventsController, consoleTopics } from './kafka/console-events.consumer';

export const CONSOLE_CONFIG = Symbol('CONSOLE_CONFIG');

@Injectable()
export class ConsoleLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(@Inject(ConsoleState) private readonly state: ConsoleState) {}

  onModuleInit(): void {
    this.state.start();
  }

  onApplicationShutdown(): void {
    this.state.stop();
  }
}

function createState(config: ConsoleConfig, registry: Registry, logger: PinoLogger): ConsoleState {
  const records = new Counter({
    name: 'sluice_console_records_total',
    help: 'Records applied to the console view, by topic',
    labelNames: ['topic'],
    registers: [registry],
  });
  const bad = new Counter({
    name: 'sluice_console_bad_input_total',
    help: 'Records skipped because they did not match their schema, by topic',
    labelNames: ['topic'],
    registers: [registry],
  });
  const clients = new Gauge({
    name: 'sluice_console_clients',
    help: 'Browsers with an open event stream',
    registers: [registry],
  });
  logger.setContext('console');
  const state = new ConsoleState(config, {
    clients: (d) => clients.inc(d),
    consumed: (topic) => records.inc({ topic }),
    bad: (topic) => bad.inc({ topic }),
    log: { warn: (o, m) => logger.warn(o, m) },
  });
  new Gauge({
    name: 'sluice_console_blocklist_entries',
    help: 'Blocklist entries in the console view',
    registers: [registry],
    collect() {
      this.set(state.view.blocklist.size);
    },
  });
  new Gauge({
    name: 'sluice_console_attacks',
    help: 'Attacks in the console view, by phase',
    labelNames: ['phase'],
    registers: [registry],
    collect() {
      this.reset();
      const counts: Record<string, number> = {};
      for (const a of state.view.attackViews()) counts[a.phase] = (counts[a.phase] ?? 0) + 1;
      for (const [phase, n] of Object.entries(counts)) this.set({ phase }, n);
    },
  });
  return state;
}

@Module({})
export class ConsoleModule {
  static register(config: ConsoleConfig): DynamicModule {
    return {
      module: ConsoleModule,
      imports: [ServiceKitModule.forRoot({ serviceName: 'console', logLevel: config.LOG_LEVEL })],
      controllers: [ConsoleController, consoleEventsController(consoleTopics(config))],
      providers: [
        { provide: CONSOLE_CONFIG, useValue: config },
        {
          provide: ConsoleState,
          inject: [Registry, PinoLogger],
          useFactory: (registry: Registry, logger: PinoLogger) =>
            createState(config, registry, logger),
        },
        ConsoleLifecycle,
      ],
    };
  }
}

/**
 * Nest's Kafka transport options from the validated config (values kept binary: we decode). The
 * connection (brokers, SASL, TLS) comes from @sluice/kafka like every other service's client.
 */
export function consoleKafkaOptions(config: ConsoleConfig): Required<KafkaOptions>['options'] {
  return {
    client: kafkaConnectionOptions(kafkaConfigFrom(config, 'sluice-console')),
    consumer: { groupId: config.CONSOLE_CONSUMER_GROUP, allowAutoTopicCreation: false },
    subscribe: { fromBeginning: false },
    parser: { keepBinary: true },
    postfixId: '',
  };
}

/** Attach the Kafka transport and start it; readiness follows the consumer's group membership. */
export async function connectConsoleKafka(
  app: INestApplication,
  config: ConsoleConfig,
): Promise<void> {
  const topics = consoleTopics(config);
  const server = new ConsoleKafkaServer(consoleKafkaOptions(config), {
    sinceTopics: [topics.alerts, topics.zoneStats, topics.offenders],
    sinceMs: Date.now() - config.CONSOLE_HISTORY_MINUTES * 60_000,
    fromStartTopics: [topics.blocklist],
  });
  app.get(Readiness).register('kafka', () => server.ready);
  app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  await app.startAllMicroservices();
}
