/** Stable error codes: operators grep logs and alert on these, so never reuse or rename one. */
export const ErrorCodes = {
  config: 'SLUICE_CONFIG_INVALID',
  schema: 'SLUICE_SCHEMA_INVALID',
  kafka: 'SLUICE_KAFKA_UNAVAILABLE',
  redis: 'SLUICE_REDIS_UNAVAILABLE',
  decode: 'SLUICE_DECODE_FAILED',
  data: 'SLUICE_DATA_INVALID',
  notFound: 'SLUICE_NOT_FOUND',
  infra: 'SLUICE_INFRA_UNAVAILABLE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The one error class Sluice throws on purpose. `message` says what was wrong and what to do. */
export class SluiceError extends Error {
  override readonly name = 'SluiceError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
