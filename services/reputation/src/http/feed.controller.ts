import { Controller, Get, Inject, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { apiClientOf } from '@sluice/service-kit';
import { FeedService, queryParams, type FeedResponse } from './feed.service';

/**
 * Thin HTTP shell over FeedService. Every route needs an API key (X-Api-Key, as CrowdSec):
 * service-kit's HTTP guard answers 401/403/429/413/414 before a request reaches here.
 */
@Controller('v1')
export class FeedController {
  constructor(@Inject(FeedService) private readonly feed: FeedService) {}

  @Get('decisions/stream')
  async stream(
    @Req() req: Request,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
  ): Promise<void> {
    const q = queryParams(query);
    send(res, 'error' in q ? q.error : await this.feed.stream(client(req), q.params));
  }

  @Get('blocklist')
  async snapshot(@Query() query: Record<string, unknown>, @Res() res: Response): Promise<void> {
    const q = queryParams(query);
    send(res, 'error' in q ? q.error : await this.feed.snapshot(q.params));
  }

  @Get('reputation/:kind/:id')
  async explain(
    @Param('kind') kind: string,
    @Param('id') id: string,
    @Res() res: Response,
  ): Promise<void> {
    send(res, await this.feed.explain(kind, id));
  }
}

/** The guard let the request in with a key; no key here would be a wiring bug, not a client's. */
function client(req: Request): string {
  const id = apiClientOf(req);
  if (id === null) throw new Error('feed route reached without an API key check');
  return id;
}

function send(res: Response, r: FeedResponse): void {
  res.status(r.status).type(r.contentType);
  for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v);
  res.send(r.body);
}
