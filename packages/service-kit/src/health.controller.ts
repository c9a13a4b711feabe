import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { type Response } from 'express';
import { Registry } from 'prom-client';
import { Readiness } from './readiness';

@Controller()
export class HealthController {
  constructor(
    private readonly readiness: Readiness,
    private readonly registry: Registry,
  ) {}

  /** Liveness: the event loop answers. */
  @Get('healthz')
  @HttpCode(200)
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: every registered dependency is up; 503 otherwise so load balancers stop routing. */
  @Get('readyz')
  async readyz(@Res() res: Response): Promise<void> {
    const report = await this.readiness.report();
    res.status(report.ready ? 200 : 503).json(report);
  }

  @Get('metrics')
  async metrics(@Res() res: Response): Promise<void> {
    res.setHeader('Content-Type', this.registry.contentType);
    res.send(await this.registry.metrics());
  }
}
