import { type z } from 'zod';
import { ErrorCodes, SluiceError } from './errors';

/** JSON encode after validating, so nothing off-contract is ever published. */
export function encodeMessage<S extends z.ZodType>(schema: S, value: z.input<S>): Buffer {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new SluiceError(
      ErrorCodes.schema,
      `refusing to publish an invalid message: ${parsed.error.message}`,
    );
  }
  return Buffer.from(JSON.stringify(parsed.data));
}

/** Decode and validate a JSON Kafka value; throws SluiceError(SLUICE_SCHEMA_INVALID) on anything off-contract. */
export function decodeMessage<S extends z.ZodType>(
  schema: S,
  raw: Buffer | string | null,
): z.output<S> {
  if (raw === null)
    throw new SluiceError(
      ErrorCodes.schema,
      'message has no value (tombstone) where one was expected',
    );
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (cause) {
    throw new SluiceError(ErrorCodes.schema, 'message value is not JSON', { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new SluiceError(
      ErrorCodes.schema,
      `message does not match its schema: ${parsed.error.message}`,
    );
  return parsed.data;
}
