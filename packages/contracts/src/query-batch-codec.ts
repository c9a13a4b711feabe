import { ErrorCodes, SluiceError } from './errors';
import { queryBatchSchema, type QueryBatch } from './query';

/**
 * Wire encoding of sluice.queries.v1 values. Every consumer MUST use these two functions:
 * the encoding can then change (chosen by benchmark) without touching consumers, as long as
 * decodeQueryBatch keeps reading every encoding ever published.
 *
 * Encoding 1: UTF-8 JSON of QueryBatch (first byte '{').
 */
export function encodeQueryBatch(batch: QueryBatch): Buffer {
  return Buffer.from(JSON.stringify(batch));
}

export function decodeQueryBatch(raw: Buffer): QueryBatch {
  if (raw.length > 0 && raw[0] === 0x7b) {
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch (cause) {
      throw new SluiceError(ErrorCodes.schema, 'query batch is not valid JSON', { cause });
    }
    const parsed = queryBatchSchema.safeParse(json);
    if (!parsed.success)
      throw new SluiceError(
        ErrorCodes.schema,
        `query batch does not match its schema: ${parsed.error.message}`,
      );
    return parsed.data;
  }
  throw new SluiceError(
    ErrorCodes.schema,
    `unknown query batch encoding (first byte 0x${(raw[0] ?? 0).toString(16)})`,
  );
}
