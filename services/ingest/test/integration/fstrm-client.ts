import { connect, type Socket } from 'node:net';
import {
  ControlType,
  DNSTAP_CONTENT_TYPE,
  encodeControlFrame,
  encodeDataFrame,
  FrameDecoder,
  type FrameEvent,
} from '../../src/core/frame-streams';

/** A well-behaved bidirectional Frame Streams sender, as NSD or dnsdist would be. */
export class FstrmClient {
  private readonly decoder = new FrameDecoder(1 << 20);
  private readonly controls: number[] = [];
  private waiting: { type: number; resolve: () => void } | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      const out: FrameEvent[] = [];
      this.decoder.push(chunk, out);
      for (const e of out) if (e.kind === 'control') this.controls.push(e.control.type);
      if (this.waiting && this.controls.includes(this.waiting.type)) this.waiting.resolve();
    });
  }

  static async open(
    target: string | { host: string; port: number },
    contentType = DNSTAP_CONTENT_TYPE,
  ): Promise<FstrmClient> {
    const socket = typeof target === 'string' ? connect(target) : connect(target.port, target.host);
    await new Promise<void>((resolve, reject) =>
      socket.once('connect', resolve).once('error', reject),
    );
    const client = new FstrmClient(socket);
    socket.write(encodeControlFrame(ControlType.READY, [contentType]));
    await client.expect(ControlType.ACCEPT);
    socket.write(encodeControlFrame(ControlType.START, [contentType]));
    return client;
  }

  /** Frames, written in arbitrary chunk sizes to exercise the receiver's reassembly. */
  async send(frames: Buffer[], chunk = 4096): Promise<void> {
    const bytes = Buffer.concat(frames.map(encodeDataFrame));
    for (let i = 0; i < bytes.length; i += chunk) {
      if (!this.socket.write(bytes.subarray(i, i + chunk)))
        await new Promise((r) => this.socket.once('drain', r));
    }
  }

  async stop(): Promise<void> {
    this.socket.write(encodeControlFrame(ControlType.STOP));
    await this.expect(ControlType.FINISH);
    this.socket.end();
  }

  private expect(type: number, timeoutMs = 10_000): Promise<void> {
    if (this.controls.includes(type)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no control frame ${type} from the receiver`)),
        timeoutMs,
      );
      this.waiting = {
        type,
        resolve: () => {
          clearTimeout(timer);
          this.waiting = null;
          resolve();
        },
      };
    });
  }
}

/** Raw socket for misbehaving senders. */
export async function rawConnect(target: string | { host: string; port: number }): Promise<Socket> {
  const socket = typeof target === 'string' ? connect(target) : connect(target.port, target.host);
  await new Promise<void>((resolve, reject) =>
    socket.once('connect', resolve).once('error', reject),
  );
  socket.on('error', () => undefined);
  return socket;
}
