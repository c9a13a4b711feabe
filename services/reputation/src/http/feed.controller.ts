import { Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ReputationRuntime } from '../reputation.runtime';
import { queryParams, type FeedResponse, type FeedService } from './feed.service';

/** Thin HTTP shell over FeedService; every route needs an API key (X-Api-Key, as CrowdSec). */
@Controller('v1')
export class FeedController {
  constructor(private readonly runtime: ReputationRuntime) {}

  /** Built in the runtime's onModuleInit, before the HTTP server listens. */
  private get feed(): FeedService {
    return this.runtime.feed;
  }

  @Get('decisions/stream')
  async stream(
    @Headers('x-api-key') key: string | undefined,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
  ): Promise<void> {
    const client = this.feed.authenticate(key);
    const q = queryParams(query);
    if (typeof client !== 'string') send(res, client);
    else send(res, 'error' in q ? q.error : await this.feed.stream(client, q.params));
  }

  @Get('blocklist')
  async snapshot(
    @Headers('x-api-key') key: string | undefined,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
  ): Promise<void> {
    const client = this.feed.authenticate(key);
    const q = queryParams(query);
    if (typeof client !== 'string') send(res, client);
    else send(res, 'error' in q ? q.error : await this.feed.snapshot(q.params));
  }

  @Get('reputation/:kind/:id')
  async explain(
    @Headers('x-api-key') key: string | undefined,
    @Param('kind') kind: string,
    @Param('id') id: string,
    @Res() res: Response,
  ): Promise<void> {
    const client = this.feed.authenticate(key);
    send(res, typeof client === 'string' ? await this.feed.explain(kind, id) : client);
  }
}

function send(res: Response, r: FeedResponse): void {
  res.status(r.status).type(r.contentType);
  for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v);
  res.send(r.body);
}
