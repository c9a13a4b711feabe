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
import { httpLimitsFrom, kafkaConfigFrom } from '@sluice/config';
import { kafkaConnectionOptions } from '@sluice/kafka';
import { PinoLogger, Readiness, Registry, serviceLog, ServiceKitModule } from '@sluice/service-kit';
import { type ConsoleConfig } from './config/console.config';
import { ConsoleState } from './console.state';
import { ConsoleAuth } from './http/console-auth';
import { ConsoleController } from './http/console.controller';
import { createConsoleMetrics } from './metrics/console.metrics';
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
  let state: ConsoleState | null = null;
  const metrics = createConsoleMetrics(registry, () => state!.view);
  state = new ConsoleState(config, {
    clients: (d) => metrics.clients.inc(d),
    consumed: (topic) => metrics.records.inc({ topic }),
    bad: (topic) => metrics.malformed.inc({ topic }),
    log: serviceLog(logger, 'console'),
  });
  return state;
}

@Module({})
export class ConsoleModule {
  static register(config: ConsoleConfig): DynamicModule {
    const auth = new ConsoleAuth(
      config.CONSOLE_API_KEYS,
      'CONSOLE_API_KEYS',
      config.CONSOLE_SESSION_HOURS * 3_600_000,
    );
    return {
      module: ConsoleModule,
      imports: [
        ServiceKitModule.forRoot({
          serviceName: 'console',
          logLevel: config.LOG_LEVEL,
          // The services' HTTP guard (size and rate limits), with the console's own access check:
          // a session cookie from the login page, or X-Api-Key.
          http: {
            ...httpLimitsFrom(config),
            apiKeys: config.CONSOLE_API_KEYS,
            apiKeySetting: 'CONSOLE_API_KEYS',
            access: auth.middleware(),
          },
        }),
      ],
      controllers: [ConsoleController, consoleEventsController(consoleTopics(config))],
      providers: [
        { provide: CONSOLE_CONFIG, useValue: config },
        { provide: ConsoleAuth, useValue: auth },
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
    holdTopics: [topics.offenders],
    log: app.get(ConsoleState).log,
  });
  app.get(Readiness).register('kafka', () => server.ready);
  app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  await app.startAllMicroservices();
}
