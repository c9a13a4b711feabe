import pino, { type DestinationStream, type LoggerOptions } from 'pino';
import { type PinoLogger } from 'nestjs-pino';

/**
 * What every component logs through: fields first, then the message. kafkajs' sink
 * (@sluice/kafka KafkaLogSink), the shared consumer's log and the services' own lines all take
 * this shape, so each becomes one JSON line: {"level":30,"time":…,"service":"…","msg":"…",…}.
 */
export interface ServiceLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * The one log shape: pino's numeric `level` and epoch-ms `time`, `service`, then the fields and
 * `msg`. Used by ServiceKitModule (inside Nest) and by createServiceLogger (outside it).
 */
export function serviceLogOptions(service: string, level: string): LoggerOptions {
  return { level, base: { service } };
}

/**
 * A service's log inside Nest: the injected PinoLogger under a context (`"context":"…"` on each
 * line), as a ServiceLog that can be handed to createKafka, the consumers and the runtime.
 */
export function serviceLog(logger: PinoLogger, context: string): ServiceLog {
  logger.setContext(context);
  return {
    debug: (o, m) => logger.debug(o, m),
    info: (o, m) => logger.info(o, m),
    warn: (o, m) => logger.warn(o, m),
    error: (o, m) => logger.error(o, m),
  };
}

/**
 * The same lines outside Nest (the CLI's replay, benchmarks, tests): to stderr unless a
 * destination is given, so a command's own output on stdout stays clean.
 */
export function createServiceLogger(
  service: string,
  level = 'info',
  destination: DestinationStream = pino.destination(2),
): ServiceLog {
  const logger = pino(serviceLogOptions(service, level), destination);
  return {
    debug: (o, m) => logger.debug(o, m),
    info: (o, m) => logger.info(o, m),
    warn: (o, m) => logger.warn(o, m),
    error: (o, m) => logger.error(o, m),
  };
}
