import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Request, type RequestHandler, type Response } from 'express';
import { type ApiKeyCheck, ApiKeys, OPERATOR_PATHS } from '@sluice/service-kit';

export const SESSION_COOKIE = 'sluice_console';
const TOKEN_VERSION = 'v1';
/** Logged-out tokens remembered until they expire; beyond this the oldest go first. */
const MAX_REVOKED = 100_000;

export interface Session {
  /** The key's non-secret id (as ApiKeys reports it). */
  client: string;
  expiresAt: number;
  /** Null for a request let in by its X-Api-Key header (no session). */
  token: string | null;
}

const SESSION = Symbol('sluice.consoleSession');

export function sessionOf(req: Request): Session | null {
  return (req as Request & { [SESSION]?: Session })[SESSION] ?? null;
}

/**
 * Who may use the console: an operator logs in with one of CONSOLE_API_KEYS (checked by
 * service-kit's ApiKeys: SHA-256 digests, constant-time comparison) and gets a session cookie;
 * scripts may send the key in X-Api-Key as to the other services' APIs.
 *
 * The session token is signed with a secret derived from the key it was issued for
 * (`v1.<client>.<expiresAt>.<nonce>.<HMAC>`), so it holds across restarts and replicas with the
 * same keys, and removing a key from CONSOLE_API_KEYS (revocation) ends every session it opened.
 * Logging out also remembers the token as revoked in this process until it would have expired.
 */
export class ConsoleAuth {
  private readonly keys: ApiKeys;
  /** client id → the key's session signing secret. */
  private readonly secrets = new Map<string, Buffer>();
  private readonly revoked = new Map<string, number>();

  constructor(
    keys: readonly string[],
    private readonly setting: string,
    readonly sessionMs: number,
  ) {
    this.keys = new ApiKeys(keys, setting);
    for (const key of new Set(keys)) {
      const digest = createHash('sha256').update(key, 'utf8').digest();
      this.secrets.set(
        digest.toString('hex').slice(0, 16),
        createHmac('sha256', digest).update('sluice-console-session').digest(),
      );
    }
  }

  checkKey(presented: string | readonly string[] | undefined): ApiKeyCheck {
    return this.keys.check(presented);
  }

  /** A key presented on the login page: a session token, or why not. */
  login(
    presented: unknown,
    now: number,
  ): { ok: true; token: string; session: Session } | Extract<ApiKeyCheck, { ok: false }> {
    const verdict = this.keys.check(typeof presented === 'string' ? presented : undefined);
    if (!verdict.ok) return verdict;
    const expiresAt = now + this.sessionMs;
    const body = `${TOKEN_VERSION}.${verdict.client}.${expiresAt}.${randomBytes(16).toString('base64url')}`;
    const token = `${body}.${this.mac(verdict.client, body)!.toString('base64url')}`;
    return { ok: true, token, session: { client: verdict.client, expiresAt, token } };
  }

  verify(token: string | undefined, now: number): Session | null {
    if (!token || token.length > 200) return null;
    const parts = token.split('.');
    if (parts.length !== 5 || parts[0] !== TOKEN_VERSION) return null;
    const [, client, expires, , sig] = parts as [string, string, string, string, string];
    const expected = this.mac(client, parts.slice(0, 4).join('.'));
    const given = Buffer.from(sig, 'base64url');
    if (!expected || given.length !== expected.length || !timingSafeEqual(given, expected))
      return null;
    const expiresAt = Number(expires);
    if (!(expiresAt > now) || this.revoked.has(token)) return null;
    return { client, expiresAt, token };
  }

  logout(token: string | undefined, now: number): void {
    const s = this.verify(token, now);
    if (!s) return;
    for (const [t, exp] of this.revoked) if (exp <= now) this.revoked.delete(t);
    while (this.revoked.size >= MAX_REVOKED) this.revoked.delete(this.revoked.keys().next().value!);
    this.revoked.set(s.token!, s.expiresAt);
  }

  /**
   * The console's access check, in service-kit's HTTP guard after its size and rate limits:
   * operator probes, the login page and the static assets are open; everything else needs a
   * session cookie or X-Api-Key. A page navigation without one is sent to /login (303), an API
   * call gets 401/403 as from the other services.
   */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const path = req.path.replace(/(.)\/$/, '$1');
      if (OPERATOR_PATHS.has(path) || path === '/login' || path === '/logout') return next();
      if (req.method === 'GET' && path.startsWith('/assets/')) return next();
      const header = req.headers['x-api-key'];
      if (header !== undefined) {
        const verdict = this.keys.check(header);
        if (!verdict.ok) return reject(res, verdict.status, verdict.message);
        setSession(req, {
          client: verdict.client,
          expiresAt: Number.POSITIVE_INFINITY,
          token: null,
        });
        return next();
      }
      const session = this.verify(cookieOf(req, SESSION_COOKIE), Date.now());
      if (session) {
        setSession(req, session);
        return next();
      }
      if (req.method === 'GET' && !path.startsWith('/api/')) {
        res.setHeader('Cache-Control', 'no-store');
        return res.redirect(303, '/login');
      }
      res.setHeader('WWW-Authenticate', 'ApiKey header="X-Api-Key"');
      return reject(
        res,
        401,
        `log in at /login with one of ${this.setting}, or send one in the X-Api-Key header`,
      );
    };
  }

  /** Set-Cookie for a new session: HttpOnly, SameSite=Strict, Secure when the request came over TLS. */
  cookie(token: string, secure: boolean): string {
    return serialise(token, Math.floor(this.sessionMs / 1000), secure);
  }

  clearCookie(secure: boolean): string {
    return serialise('', 0, secure);
  }

  private mac(client: string, body: string): Buffer | null {
    const secret = this.secrets.get(client);
    return secret ? createHmac('sha256', secret).update(body).digest() : null;
  }
}

function serialise(value: string, maxAge: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

function setSession(req: Request, s: Session): void {
  (req as Request & { [SESSION]?: Session })[SESSION] = s;
}

export function cookieOf(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function reject(res: Response, status: number, message: string): void {
  res.status(status).json({ statusCode: status, message });
}
