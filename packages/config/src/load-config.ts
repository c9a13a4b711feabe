import { type z } from 'zod';
import { ErrorCodes, SluiceError } from '@sluice/contracts';

export type Env = Record<string, string | undefined>;

/**
 * Parse the environment once at boot. Every bad variable is named in ONE message, so an
 * operator fixes them all in one go; the caller lets it stop the process.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: Env = process.env): z.output<S> {
  // Empty strings mean "unset" for env vars (docker-compose `VAR=` lines); let defaults apply.
  const cleaned: Env = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') cleaned[key] = value.trim();
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const got = typeof issue.path[0] === 'string' ? cleaned[issue.path[0]] : undefined;
    return `  ${name}: ${issue.message}${got === undefined ? '' : ` (got "${redact(name, got)}")`}`;
  });
  throw new SluiceError(ErrorCodes.config, `Invalid configuration:\n${lines.join('\n')}`);
}

/**
 * What an error message may echo of a value: nothing of a secret; a file setting's path is not
 * one (KAFKA_SASL_PASSWORD_FILE names a file, the password stays in it); a URL's password is.
 */
function redact(name: string, value: string): string {
  if (/_FILE$/i.test(name)) return value;
  if (/PASSWORD|PASSPHRASE|SECRET|KEY|TOKEN/i.test(name)) return '***';
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}
