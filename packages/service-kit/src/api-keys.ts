import { createHash, timingSafeEqual } from 'node:crypto';

export type ApiKeyCheck =
  | { ok: true; /** A stable, non-secret id of the key (per-client state, logs). */ client: string }
  | { ok: false; status: 401 | 403 | 503; message: string };

/**
 * The API keys a service accepts. Both sides are hashed (SHA-256) before comparing, so the
 * comparison runs in constant time over equal-length digests whatever the presented key's length,
 * and every configured key is compared (no early exit reveals which one matched).
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  /** `setting` names the variable holding the keys, for the "disabled" answer. */
  constructor(
    keys: readonly string[],
    private readonly setting: string,
  ) {
    this.digests = [...new Set(keys)].map(digest);
  }

  get size(): number {
    return this.digests.length;
  }

  check(presented: string | readonly string[] | undefined): ApiKeyCheck {
    if (this.digests.length === 0)
      return { ok: false, status: 503, message: `this API is disabled: set ${this.setting}` };
    if (presented === undefined || presented === '')
      return { ok: false, status: 401, message: 'missing X-Api-Key header' };
    if (typeof presented !== 'string')
      return { ok: false, status: 401, message: 'give one X-Api-Key header' };
    const d = digest(presented);
    let match = false;
    for (const k of this.digests) match = timingSafeEqual(k, d) || match;
    if (!match) return { ok: false, status: 403, message: 'unknown or revoked API key' };
    return { ok: true, client: d.toString('hex').slice(0, 16) };
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
