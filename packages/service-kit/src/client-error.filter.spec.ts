import 'reflect-metadata';
import { connect } from 'node:net';
import { type AddressInfo } from 'node:net';
import { type Server } from 'node:http';
import {
  type ArgumentsHost,
  Body,
  Controller,
  type INestApplication,
  type LoggerService,
  Module,
  Post,
} from '@nestjs/common';
import { HttpAdapterHost, NestFactory } from '@nestjs/core';
import { ClientErrorFilter, clientErrorStatus } from './client-error.filter';

@Controller()
class EchoController {
  @Post('echo')
  echo(@Body() body: unknown): unknown {
    return body;
  }

  @Post('broken')
  broken(): never {
    throw new Error('a bug on our side');
  }
}

@Module({ controllers: [EchoController] })
class EchoModule {}

/** Every exception the filter saw, so a test can wait for one instead of sleeping. */
class CountingFilter extends ClientErrorFilter {
  seen = 0;
  override catch(exception: unknown, host: ArgumentsHost): void {
    this.seen++;
    super.catch(exception, host);
  }
}

class CapturingLogger implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(): void {}
  error(message: unknown): void {
    this.errors.push(String(message));
  }
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ClientErrorFilter', () => {
  let app: INestApplication;
  let filter: CountingFilter;
  let logger: CapturingLogger;
  let base: string;
  let port: number;

  beforeAll(async () => {
    logger = new CapturingLogger();
    app = await NestFactory.create(EchoModule, { logger });
    filter = new CountingFilter(app.get(HttpAdapterHost).httpAdapter);
    app.useGlobalFilters(filter);
    await app.listen(0, '127.0.0.1');
    port = ((app.getHttpServer() as Server).address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(() => app.close());
  beforeEach(() => {
    logger.errors.length = 0;
    filter.seen = 0;
  });

  it('answers JSON that does not parse with 400, and logs no ERROR', async () => {
    const res = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    expect(res.status).toBe(400);
    expect(logger.errors).toEqual([]);
  });

  it('logs no ERROR for a request aborted half-way through its body', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":',
    );
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    await until(() => filter.seen >= 1);
    expect(logger.errors).toEqual([]);
  });

  it('leaves the server’s own errors to Nest: 500, logged at ERROR', async () => {
    const res = await fetch(`${base}/broken`, { method: 'POST' });
    expect(res.status).toBe(500);
    expect(logger.errors.join('\n')).toContain('a bug on our side');
  });

  it('knows a client error only by an exposed 4xx status', () => {
    const aborted = Object.assign(new Error('request aborted'), { status: 400, expose: true });
    expect(clientErrorStatus(aborted)).toBe(400);
    expect(clientErrorStatus(Object.assign(new Error('x'), { status: 500, expose: false }))).toBe(
      null,
    );
    expect(clientErrorStatus(Object.assign(new Error('x'), { status: 400 }))).toBe(null);
    expect(clientErrorStatus('request aborted')).toBe(null);
  });
});
