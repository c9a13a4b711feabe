import { z } from 'zod';
import { env } from './schemas';

/** Shortest API key accepted: a guessable key is no key (CrowdSec's generated keys are 32). */
export const MIN_API_KEY_LENGTH = 16;

/**
 * A comma list of API keys. Each is what a client sends in X-Api-Key: printable ASCII without
 * spaces or commas, at least MIN_API_KEY_LENGTH long. Several keys, one per client, so one can
 * be revoked by removing it (and restarting). Never echoed: loadConfig redacts *KEY* settings.
 */
export const apiKeyList = () =>
  env
    .list()
    .refine(
      (l) => l.every((k) => /^[\x21-\x2b\x2d-\x7e]+$/.test(k)),
      'must be printable ASCII keys without spaces, comma separated',
    )
    .refine(
      (l) => l.every((k) => k.length >= MIN_API_KEY_LENGTH),
      `each key must be at least ${MIN_API_KEY_LENGTH} characters (e.g. openssl rand -hex 24)`,
    );

/**
 * Limits of the public HTTP APIs (the reputation feed, the enrichment report API), the same
 * names in every service that has one. /healthz, /readyz and /metrics are exempt from the rate
 * limit and the API key, not from the size limits.
 */
export const httpLimitsEnvShape = {
  /** Longest request target (path + query) in bytes; longer → 414. */
  HTTP_MAX_URL_BYTES: env.positiveInt().min(256, 'must be at least 256').default(4096),
  /** All request headers together (request line included) in bytes; more → 431 (Node's parser). */
  HTTP_MAX_HEADER_BYTES: env.positiveInt().min(1024, 'must be at least 1024').default(16_384),
  /** Request body in bytes (no route takes one; the room is for clients that send one anyway); more → 413. */
  HTTP_MAX_BODY_BYTES: z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must be ≥ 0')
    .default(16_384),
  /** Requests per client address per HTTP_RATE_WINDOW_MS; more → 429 with Retry-After. 0 disables. */
  HTTP_RATE_LIMIT: z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must be ≥ 0 (0 disables the limit)')
    .default(300),
  HTTP_RATE_WINDOW_MS: env.positiveInt().default(60_000),
  /**
   * Express 'trust proxy': false (clients connect directly), a hop count (1 behind one reverse
   * proxy) or a comma list of proxy addresses/CIDRs. Never true: anyone could pick their own
   * address with X-Forwarded-For and escape the rate limit.
   */
  HTTP_TRUST_PROXY: z
    .string()
    .default('false')
    .transform((v, ctx): false | number | string[] => {
      if (v === 'false' || v === '0') return false;
      if (/^\d+$/.test(v)) return Number(v);
      const list = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (
        v === 'true' ||
        list.length === 0 ||
        !list.every((s) =>
          /^[0-9a-fA-F.:]+(\/\d{1,3})?$|^(loopback|linklocal|uniquelocal)$/.test(s),
        )
      ) {
        ctx.addIssue({
          code: 'custom',
          message:
            'must be false, a hop count (e.g. 1) or a comma list of proxy addresses/CIDRs (never true)',
        });
        return z.NEVER;
      }
      return list;
    }),
};

export interface HttpLimitsEnv {
  HTTP_MAX_URL_BYTES: number;
  HTTP_MAX_HEADER_BYTES: number;
  HTTP_MAX_BODY_BYTES: number;
  HTTP_RATE_LIMIT: number;
  HTTP_RATE_WINDOW_MS: number;
  HTTP_TRUST_PROXY: false | number | string[];
}

/** The limits as service-kit's HttpGuardOptions wants them. */
export function httpLimitsFrom(e: HttpLimitsEnv) {
  return {
    maxUrlBytes: e.HTTP_MAX_URL_BYTES,
    maxHeaderBytes: e.HTTP_MAX_HEADER_BYTES,
    maxBodyBytes: e.HTTP_MAX_BODY_BYTES,
    rateLimit: { requests: e.HTTP_RATE_LIMIT, windowMs: e.HTTP_RATE_WINDOW_MS },
    trustProxy: e.HTTP_TRUST_PROXY,
  };
}
