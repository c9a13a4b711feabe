import { type ArgumentsHost, Catch, HttpException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { type Response } from 'express';

/**
 * The status a client's own mistake deserves, for errors raised before any controller runs:
 * body-parser's (http-errors with `expose`: a request aborted half-way through its body, JSON
 * that does not parse, a body over the limit, an unsupported charset). Null for anything else.
 */
export function clientErrorStatus(error: unknown): number | null {
  if (!(error instanceof Error) || error instanceof HttpException) return null;
  const e = error as { status?: unknown; statusCode?: unknown; expose?: unknown };
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  if (typeof status !== 'number' || status < 400 || status > 499 || e.expose !== true) return null;
  return status;
}

/**
 * Answers a client's malformed or aborted request with its 4xx, quietly. Nest's default handler
 * treats them as 500s and logs each at ERROR with a stack: any client could fill the log by
 * aborting POSTs, and an ERROR line must mean something an operator has to act on. Everything
 * else goes to Nest's handler as before.
 */
@Catch()
export class ClientErrorFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    const status = host.getType() === 'http' ? clientErrorStatus(exception) : null;
    if (status === null) return super.catch(exception, host);
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent || res.destroyed) return;
    res.status(status).json({ statusCode: status, message: (exception as Error).message });
  }
}
