import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  Res,
  Sse,
  type MessageEvent,
} from '@nestjs/common';
import { type Request, type Response } from 'express';
import { concat, defer, interval, map, merge, NEVER, Observable, of, takeUntil, timer } from 'rxjs';
import { BLOCKLIST_SORTS, type BlocklistQuery, type BlocklistSort } from '../core/blocklist-table';
import { ConsoleState } from '../console.state';
import { ConsoleAuth, cookieOf, SESSION_COOKIE, sessionOf } from './console-auth';

const PUBLIC_DIR = resolve(__dirname, '..', '..', 'public');

/** The page and its assets: everything local (uPlot from its npm package), nothing from a CDN. */
function loadAssets(): Map<string, { type: string; body: Buffer }> {
  const uplotDir = resolve(require.resolve('uplot/dist/uPlot.iife.min.js'), '..');
  const files: Array<[string, string, string]> = [
    ['index.html', join(PUBLIC_DIR, 'index.html'), 'text/html; charset=utf-8'],
    ['login.html', join(PUBLIC_DIR, 'login.html'), 'text/html; charset=utf-8'],
    ['login.js', join(PUBLIC_DIR, 'login.js'), 'text/javascript; charset=utf-8'],
    ['console.js', join(PUBLIC_DIR, 'console.js'), 'text/javascript; charset=utf-8'],
    ['console.css', join(PUBLIC_DIR, 'console.css'), 'text/css; charset=utf-8'],
    ['uPlot.iife.min.js', join(uplotDir, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['uPlot.min.css', join(uplotDir, 'uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  return new Map(files.map(([name, path, type]) => [name, { type, body: readFileSync(path) }]));
}

/**
 * No inline script or handler can run even if a name slipped into markup: the page renders
 * every record with textContent, and this policy is the second line.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** The only variable part of the login page: fixed texts, never request input. */
const LOGIN_NOTES = {
  none: '',
  failed: 'That key is not accepted.',
  missing: 'Enter a key.',
  out: 'Logged out.',
} as const;

@Controller()
export class ConsoleController {
  private readonly assets = loadAssets();

  constructor(
    @Inject(ConsoleState) private readonly state: ConsoleState,
    @Inject(ConsoleAuth) private readonly auth: ConsoleAuth,
  ) {}

  @Get()
  page(@Res() res: Response): void {
    this.send(res, 'index.html');
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() res: Response): void {
    if (name.endsWith('.html') || !this.assets.has(name)) throw new NotFoundException();
    this.send(res, name);
  }

  @Get('login')
  loginPage(@Query('out') out: string | undefined, @Res() res: Response): void {
    this.sendLogin(res, 200, out === undefined ? 'none' : 'out');
  }

  /** The login form (urlencoded `key`): a session cookie and back to the console, or the form again. */
  @Post('login')
  login(@Body() body: unknown, @Req() req: Request, @Res() res: Response): void {
    const key =
      typeof body === 'object' && body !== null ? (body as { key?: unknown }).key : undefined;
    const result = this.auth.login(key, Date.now());
    if (!result.ok)
      return this.sendLogin(res, result.status, result.status === 401 ? 'missing' : 'failed');
    res.setHeader('Set-Cookie', this.auth.cookie(result.token, req.secure));
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, '/');
  }

  @Post('logout')
  @HttpCode(303)
  logout(@Req() req: Request, @Res() res: Response): void {
    this.auth.logout(cookieOf(req, SESSION_COOKIE), Date.now());
    res.setHeader('Set-Cookie', this.auth.clearCookie(req.secure));
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, '/login?out');
  }

  /** Who is in and until when (the page asks when its event stream was refused). */
  @Get('api/session')
  @Header('cache-control', 'no-store')
  session(@Req() req: Request) {
    const s = sessionOf(req);
    return {
      client: s?.client ?? null,
      expiresAt: s && Number.isFinite(s.expiresAt) ? s.expiresAt : null,
    };
  }

  @Get('api/state')
  @Header('cache-control', 'no-store')
  snapshot() {
    return this.state.view.snapshot(Date.now());
  }

  /** One page of the blocklist; the browser asks again when an event says the list changed. */
  @Get('api/blocklist')
  @Header('cache-control', 'no-store')
  blocklist(@Query() q: Record<string, string | undefined>) {
    const sort = (q.sort ?? 'score') as BlocklistSort;
    if (!BLOCKLIST_SORTS.includes(sort))
      throw new BadRequestException(`sort must be one of ${BLOCKLIST_SORTS.join(', ')}`);
    const mode = q.mode ?? 'all';
    if (mode !== 'all' && mode !== 'shadow' && mode !== 'enforced')
      throw new BadRequestException('mode must be all, shadow or enforced');
    const query: BlocklistQuery = {
      offset: int(q.offset, 0, 'offset'),
      limit: int(q.limit, 100, 'limit'),
      sort,
      mode,
    };
    if (q.q) query.q = q.q;
    if (q.kind) query.kind = q.kind as BlocklistQuery['kind'];
    return this.state.view.blocklistPage(query);
  }

  @Get('api/report')
  @Header('cache-control', 'no-store')
  report(@Query('alert') alert?: string) {
    if (!alert) throw new BadRequestException('alert is required');
    const report = this.state.view.report(alert, Date.now());
    if (!report) throw new NotFoundException(`no attack ${alert} in the console's view`);
    return report;
  }

  /** GET /api/evidence?alert=ID&asn=N|unknown&format=csv|json — what a network's abuse desk gets. */
  @Get('api/evidence')
  evidence(@Query() q: Record<string, string | undefined>, @Res() res: Response): void {
    if (!q.alert) throw new BadRequestException('alert is required');
    const asnText = q.asn ?? '';
    const m = /^(?:AS)?(\d+)$/i.exec(asnText);
    if (!m && asnText !== 'unknown')
      throw new BadRequestException('asn must be a number (e.g. 3356 or AS3356) or "unknown"');
    const asn = m ? Number(m[1]) : null;
    const format = q.format ?? 'csv';
    if (format !== 'csv' && format !== 'json')
      throw new BadRequestException('format must be csv or json');
    const body = this.state.view.evidence(q.alert, asn, format, Date.now());
    if (body === null) throw new NotFoundException(`no attack ${q.alert} in the console's view`);
    const safeAlert = q.alert.replace(/[^A-Za-z0-9._-]/g, '_');
    res.setHeader(
      'content-type',
      format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
    );
    res.setHeader(
      'content-disposition',
      `attachment; filename="sluice-evidence-${safeAlert}-${asn === null ? 'unknown' : `AS${asn}`}.${format}"`,
    );
    res.send(body);
  }

  /**
   * One server-sent event stream per browser: a snapshot, then the coalesced updates every
   * browser shares (one Kafka consumer for all), and a ping so proxies keep the stream open.
   */
  @Sse('api/events')
  events(@Req() req: Request): Observable<MessageEvent> {
    // A stream opened with a session ends with it: the page then finds itself logged out.
    const session = sessionOf(req);
    const end =
      session && Number.isFinite(session.expiresAt)
        ? timer(Math.max(0, session.expiresAt - Date.now()))
        : NEVER;
    this.state.clientOpened();
    const snapshot = defer(() =>
      of<MessageEvent>({ type: 'snapshot', data: this.state.view.snapshot(Date.now()) }),
    );
    const updates = this.state.updates$.pipe(
      map((u): MessageEvent => ({ type: 'update', data: u })),
    );
    const ping = interval(15_000).pipe(map((): MessageEvent => ({ type: 'ping', data: '' })));
    return new Observable<MessageEvent>((sub) => {
      const s = concat(snapshot, merge(updates, ping)).pipe(takeUntil(end)).subscribe(sub);
      return () => {
        s.unsubscribe();
        this.state.clientClosed();
      };
    });
  }

  private sendLogin(res: Response, status: number, note: keyof typeof LOGIN_NOTES): void {
    const a = this.assets.get('login.html')!;
    res.status(status);
    res.setHeader('content-type', a.type);
    res.setHeader('content-security-policy', CSP);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'no-store');
    res.send(a.body.toString('utf8').replace('<!--note-->', LOGIN_NOTES[note]));
  }

  private send(res: Response, name: string): void {
    const a = this.assets.get(name)!;
    res.setHeader('content-type', a.type);
    res.setHeader('content-security-policy', CSP);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'no-cache');
    res.send(a.body);
  }
}

function int(v: string | undefined, dflt: number, name: string): number {
  if (v === undefined || v === '') return dflt;
  if (!/^\d+$/.test(v)) throw new BadRequestException(`${name} must be a whole number`);
  return Number(v);
}
