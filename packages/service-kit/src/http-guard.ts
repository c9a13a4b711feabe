import { type Server } from 'node:http';
import { type Request, type RequestHandler, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { ApiKeys } from './api-keys';

/**
 * What guards a service's public HTTP API (the reputation feed, the enrichment report API).
 * Everything but the operator endpoints needs an API key; every request is size-limited.
 */
export interface HttpGuardOptions {
  apiKeys: readonly string[];
  /** The setting the keys come from, named when the list is empty ("set FEED_API_KEYS"). */
  apiKeySetting: string;
  maxUrlBytes: number;
  /** Request line and headers together: Node's parser answers 431 beyond it. */
  maxHeaderBytes: number;
  maxBodyBytes: number;
  /** Per client address (IPv6: per /56); requests 0 disables. */
  rateLimit: { requests: number; windowMs: number };
  /** Express 'trust proxy' (false, hop count, or proxy addresses). */
  trustProxy: false | number | string[];
  /**
   * Replaces the X-Api-Key check, after the same size and rate limits: the console lets a
   * browser in with a session cookie issued for one of its keys (or the key itself).
   */
  access?: RequestHandler;
}

/**
 * Liveness, readiness and Prometheus scrapes: no key and no rate limit, as kubelet and
 * Prometheus expect. Exact lower-case paths only: anything else needs a key.
 */
export const OPERATOR_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

const isOperatorPath = (req: Request): boolean =>
  OPERATOR_PATHS.has(req.path.replace(/(.)\/$/, '$1'));

const CLIENT = Symbol('sluice.apiClient');

/** The id of the API key a request was let in with (set by the guard; null on operator paths). */
export function apiClientOf(req: Request): string | null {
  return (req as Request & { [CLIENT]?: string })[CLIENT] ?? null;
}

function reject(res: Response, status: number, message: string, close = false): void {
  if (res.headersSent) return;
  if (close) res.setHeader('Connection', 'close');
  res.status(status).json({ statusCode: status, message });
}

/**
 * 414 for a long target, 413 for a body over the limit (declared or streamed). A 413 says
 * Connection: close, so Node closes the socket once it is sent and the unread rest of the body
 * is never taken for a next request.
 */
function sizeLimits(o: HttpGuardOptions): RequestHandler {
  const tooLarge = `request body larger than ${o.maxBodyBytes} bytes`;
  return (req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (Buffer.byteLength(req.originalUrl ?? req.url ?? '') > o.maxUrlBytes)
      return reject(res, 414, `request target longer than ${o.maxUrlBytes} bytes`);
    const declared = req.headers['content-length'];
    if (declared !== undefined && !(Number(declared) <= o.maxBodyBytes))
      return reject(res, 413, tooLarge, true);
    if (req.headers['transfer-encoding'] === undefined) return next();
    // A streamed body of unknown length: read it (no route uses one) before the route runs,
    // counting; over the limit, answer 413 and never reach the route.
    let seen = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen <= o.maxBodyBytes || over) return;
      over = true;
      reject(res, 413, tooLarge, true);
    });
    req.once('end', () => {
      if (over) return;
      // Tells Nest's body parsers the body was read already.
      (req as Request & { _body?: boolean })._body = true;
      next();
    });
    req.once('error', () => req.socket.destroy());
  };
}

function apiKeyCheck(keys: ApiKeys): RequestHandler {
  return (req, res, next) => {
    if (isOperatorPath(req)) return next();
    const verdict = keys.check(req.headers['x-api-key']);
    if (!verdict.ok) {
      if (verdict.status === 401) res.setHeader('WWW-Authenticate', 'ApiKey header="X-Api-Key"');
      return reject(res, verdict.status, verdict.message);
    }
    (req as Request & { [CLIENT]?: string })[CLIENT] = verdict.client;
    next();
  };
}

/**
 * The middlewares in the order they run: sizes (cheapest), rate limit (before the key, so
 * guessing keys is throttled too), API key. Installed ahead of Nest's body parsers and routes.
 */
export function httpGuardMiddleware(o: HttpGuardOptions): RequestHandler[] {
  const chain: RequestHandler[] = [sizeLimits(o)];
  if (o.rateLimit.requests > 0)
    chain.push(
      rateLimit({
        windowMs: o.rateLimit.windowMs,
        limit: o.rateLimit.requests,
        standardHeaders: 'draft-7',
        legacyHeaders: false,
        skip: isOperatorPath,
        // trust proxy is validated by the config (never `true`); the library's checks would
        // write to the console, outside the service's JSON log.
        validate: false,
        handler: (_req: Request, res: Response) =>
          reject(res, 429, 'too many requests from this address: see Retry-After'),
      }) as unknown as RequestHandler,
    );
  chain.push(o.access ?? apiKeyCheck(new ApiKeys(o.apiKeys, o.apiKeySetting)));
  return chain;
}

/** Node's parser enforces the header limit (431) per connection; set it before listening. */
export function applyServerLimits(
  server: Server,
  o: Pick<HttpGuardOptions, 'maxHeaderBytes'>,
): void {
  // Read by Node for each new connection (http.Server stores the createServer option there).
  (server as Server & { maxHeaderSize: number }).maxHeaderSize = o.maxHeaderBytes;
}
