import 'reflect-metadata';
import { type DynamicModule, type INestApplication, type Type } from '@nestjs/common';
import { HttpAdapterHost, NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { SluiceError } from '@sluice/contracts';
import { ClientErrorFilter } from './client-error.filter';
import { Readiness } from './readiness';

/**
 * config → logging → infrastructure → listen. A bad config or a failed start prints one
 * clear line and exits 1; SIGTERM/SIGINT run Nest's shutdown hooks (consumers drain and commit).
 */
export async function bootstrapService<C extends { HTTP_PORT: number; HTTP_HOST: string }>(
  loadConfig: () => C,
  createModule: (config: C) => Type | DynamicModule,
  /** Runs after the app is built, before it listens (e.g. connectMicroservice + startAllMicroservices). */
  beforeListen?: (app: INestApplication, config: C) => Promise<void>,
): Promise<INestApplication> {
  let config: C;
  try {
    config = loadConfig();
  } catch (error) {
    exitWith(error);
  }
  try {
    // abortOnError: false lets a failing provider reach exitWith() as one line instead of Nest's own abort.
    const app = await NestFactory.create(createModule(config), {
      bufferLogs: true,
      abortOnError: false,
    });
    app.useLogger(app.get(Logger));
    app.useGlobalFilters(new ClientErrorFilter(app.get(HttpAdapterHost).httpAdapter));
    app.enableShutdownHooks();
    const readiness = app.get(Readiness);
    for (const signal of ['SIGTERM', 'SIGINT'] as const)
      process.once(signal, () => readiness.markShuttingDown());
    if (beforeListen) await beforeListen(app, config);
    await app.listen(config.HTTP_PORT, config.HTTP_HOST);
    return app;
  } catch (error) {
    exitWith(error);
  }
}

function exitWith(error: unknown): never {
  const message =
    error instanceof SluiceError
      ? `${error.code}: ${error.message}`
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/**
 * Something the service cannot run without is down for good (a Kafka consumer whose rebuilds
 * failed): exit non-zero so the supervisor restarts the process, rather than stay up doing
 * nothing. Uncommitted batches come again to the next instance (at-least-once).
 */
export function exitForSupervisor(
  log: { error(obj: object, msg: string): void },
  what: string,
  error: unknown,
): void {
  log.error(
    { err: error instanceof Error ? error.message : String(error) },
    `${what}; exiting so the supervisor restarts the service`,
  );
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
}
