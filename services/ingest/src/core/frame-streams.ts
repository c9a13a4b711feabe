/**
 * Frame Streams (fstrm) framing, written here because it is the product's front door.
 *
 * Wire format: every frame starts with a 32-bit big-endian length. A non-zero length is a
 * data frame of that many bytes. A zero length escapes a control frame: 32-bit length
 * (≤ 512), 32-bit control type, then fields (32-bit field type, 32-bit length, bytes); the
 * only field type is CONTENT_TYPE = 1.
 *
 * Bidirectional sockets: sender READY(ct…) → receiver ACCEPT(ct) → sender START(ct),
 * data…, STOP → receiver FINISH. Files are unidirectional: START, data…, STOP.
 */

export const ControlType = {
  ACCEPT: 1,
  START: 2,
  STOP: 3,
  READY: 4,
  FINISH: 5,
} as const;
export type ControlTypeValue = (typeof ControlType)[keyof typeof ControlType];

export const CONTROL_FIELD_CONTENT_TYPE = 1;
export const DNSTAP_CONTENT_TYPE = 'protobuf:dnstap.Dnstap';
/** The fstrm specification caps control frames at 512 bytes. */
export const MAX_CONTROL_FRAME = 512;

/** Reasons a stream is rejected; each is counted and sampled to the dead-letter topic. */
export type FrameStreamErrorReason =
  | 'fstrm-oversize-frame'
  | 'fstrm-zero-length-control'
  | 'fstrm-bad-control'
  | 'fstrm-content-type'
  | 'fstrm-unexpected-control'
  | 'fstrm-data-before-start'
  | 'fstrm-truncated';

/** A live connection cut from the receiving side because it overstayed a deadline. */
export type FrameStreamAbortReason = 'fstrm-handshake-timeout' | 'fstrm-frame-timeout';

export interface ControlFrame {
  type: number;
  contentTypes: string[];
}

export function encodeControlFrame(
  type: ControlTypeValue,
  contentTypes: readonly string[] = [],
): Buffer {
  const fields = contentTypes.map((ct) => Buffer.from(ct, 'utf8'));
  const bodyLength = 4 + fields.reduce((n, f) => n + 8 + f.length, 0);
  const out = Buffer.alloc(8 + bodyLength);
  out.writeUInt32BE(0, 0);
  out.writeUInt32BE(bodyLength, 4);
  out.writeUInt32BE(type, 8);
  let offset = 12;
  for (const f of fields) {
    out.writeUInt32BE(CONTROL_FIELD_CONTENT_TYPE, offset);
    out.writeUInt32BE(f.length, offset + 4);
    f.copy(out, offset + 8);
    offset += 8 + f.length;
  }
  return out;
}

export function encodeDataFrame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

/** Parse a control frame body (after the escape and length). Null when malformed. */
export function parseControlBody(body: Buffer): ControlFrame | null {
  if (body.length < 4) return null;
  const type = body.readUInt32BE(0);
  const contentTypes: string[] = [];
  let offset = 4;
  while (offset < body.length) {
    if (offset + 8 > body.length) return null;
    const fieldType = body.readUInt32BE(offset);
    const length = body.readUInt32BE(offset + 4);
    if (offset + 8 + length > body.length) return null;
    if (fieldType === CONTROL_FIELD_CONTENT_TYPE)
      contentTypes.push(body.toString('utf8', offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return { type, contentTypes };
}

export type FrameEvent =
  | { kind: 'data'; frame: Buffer }
  | { kind: 'control'; control: ControlFrame; raw: Buffer }
  | { kind: 'error'; reason: FrameStreamErrorReason; raw: Buffer; detail: string };

/**
 * Incremental splitter: push arbitrary chunks, get whole frames. After an error the stream
 * cannot be re-synchronised (there is no frame marker), so the decoder stops; the caller
 * closes the connection.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private available = 0;
  private failed = false;

  constructor(private readonly maxDataFrame: number) {}

  get buffered(): number {
    return this.available;
  }

  get hasFailed(): boolean {
    return this.failed;
  }

  push(chunk: Buffer, out: FrameEvent[]): void {
    if (this.failed) return;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.available += chunk.length;
    }
    for (;;) {
      if (this.available < 4) return;
      const length = this.peekUInt32(0);
      if (length !== 0) {
        if (length > this.maxDataFrame) {
          this.fail(
            out,
            'fstrm-oversize-frame',
            `data frame of ${length} bytes exceeds ${this.maxDataFrame}`,
          );
          return;
        }
        if (this.available < 4 + length) return;
        this.consume(4);
        out.push({ kind: 'data', frame: this.consume(length) });
        continue;
      }
      if (this.available < 8) return;
      const controlLength = this.peekUInt32(4);
      if (controlLength === 0) {
        this.fail(out, 'fstrm-zero-length-control', 'control frame of length 0');
        return;
      }
      if (controlLength > MAX_CONTROL_FRAME) {
        this.fail(
          out,
          'fstrm-oversize-frame',
          `control frame of ${controlLength} bytes exceeds ${MAX_CONTROL_FRAME}`,
        );
        return;
      }
      if (this.available < 8 + controlLength) return;
      const raw = this.consume(8 + controlLength);
      const control = parseControlBody(raw.subarray(8));
      if (!control) {
        out.push({
          kind: 'error',
          reason: 'fstrm-bad-control',
          raw,
          detail: 'unparseable control frame fields',
        });
        this.failed = true;
        return;
      }
      out.push({ kind: 'control', control, raw });
    }
  }

  /** Bytes of an incomplete frame left when the sender went away (for the dead letter sample). */
  remainder(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }

  private fail(out: FrameEvent[], reason: FrameStreamErrorReason, detail: string): void {
    const raw = this.remainder().subarray(0, 64);
    out.push({ kind: 'error', reason, raw, detail });
    this.failed = true;
    this.chunks = [];
    this.available = 0;
  }

  private peekUInt32(at: number): number {
    const first = this.chunks[0]!;
    if (first.length >= at + 4) return first.readUInt32BE(at);
    return this.remainder().readUInt32BE(at);
  }

  private consume(n: number): Buffer {
    let first = this.chunks[0]!;
    if (first.length < n) {
      first = Buffer.concat(this.chunks);
      this.chunks = [first];
    }
    const taken = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.available -= n;
    return taken;
  }
}

export type SessionOutput =
  | { kind: 'write'; bytes: Buffer }
  | { kind: 'data'; frame: Buffer }
  | {
      kind: 'error';
      reason: FrameStreamErrorReason | FrameStreamAbortReason;
      raw: Buffer;
      detail: string;
    }
  /** The stream ended cleanly (STOP) or fatally (after an error): close the connection. */
  | { kind: 'close' };

type SessionState = 'await-ready' | 'await-start' | 'data' | 'stopped' | 'failed';

/**
 * The receiving end of one Frame Streams connection or file, as a pure state machine:
 * bytes in, actions out (bytes to write back, data frames, errors, close). Socket adapters
 * and the file reader share it, so the handshake logic is tested once, without sockets.
 */
export class FrameStreamSession {
  private state: SessionState;
  private readonly decoder: FrameDecoder;
  private readonly events: FrameEvent[] = [];
  private frames = 0;

  constructor(
    private readonly options: {
      bidirectional: boolean;
      contentType?: string;
      maxDataFrame?: number;
    },
  ) {
    this.state = options.bidirectional ? 'await-ready' : 'await-start';
    this.decoder = new FrameDecoder(options.maxDataFrame ?? 1024 * 1024);
  }

  get finished(): boolean {
    return this.state === 'stopped' || this.state === 'failed';
  }

  /** START was seen: data frames are accepted (or the stream already stopped). */
  get handshakeDone(): boolean {
    return this.state === 'data' || this.state === 'stopped';
  }

  /** Bytes of an incomplete frame held. */
  get bufferedBytes(): number {
    return this.decoder.buffered;
  }

  /** Whole frames (data and control) read so far. */
  get framesSeen(): number {
    return this.frames;
  }

  /**
   * The connection is cut from this side (a deadline passed): `reason` is reported with the
   * bytes of the incomplete frame, if any, and the session closes.
   */
  abort(reason: FrameStreamAbortReason, detail: string, out: SessionOutput[]): void {
    if (this.finished) return;
    this.failWith(out, reason, this.decoder.remainder().subarray(0, 64), detail);
  }

  private get contentType(): string {
    return this.options.contentType ?? DNSTAP_CONTENT_TYPE;
  }

  push(chunk: Buffer, out: SessionOutput[]): void {
    if (this.finished) return;
    this.decoder.push(chunk, this.events);
    this.frames += this.events.length;
    for (const event of this.events) {
      if (this.finished) break;
      this.handle(event, out);
    }
    this.events.length = 0;
  }

  /** The peer closed its side. Anything but a clean STOP means it vanished mid-stream. */
  end(out: SessionOutput[]): void {
    if (this.finished) return;
    const pending = this.decoder.buffered;
    // A socket opened and closed before READY is a probe, not an error; anything else
    // without STOP is a sender that vanished (frames that came before are kept).
    if (pending > 0 || !(this.options.bidirectional && this.state === 'await-ready')) {
      out.push({
        kind: 'error',
        reason: 'fstrm-truncated',
        raw: this.decoder.remainder().subarray(0, 64),
        detail:
          pending > 0
            ? `sender went away with ${pending} bytes of an incomplete frame`
            : `stream ended in state ${this.state} without STOP`,
      });
    }
    this.state = 'failed';
    out.push({ kind: 'close' });
  }

  private handle(event: FrameEvent, out: SessionOutput[]): void {
    switch (event.kind) {
      case 'error':
        this.failWith(out, event.reason, event.raw, event.detail);
        return;
      case 'data':
        if (this.state !== 'data') {
          this.failWith(
            out,
            'fstrm-data-before-start',
            event.frame.subarray(0, 64),
            `data frame in state ${this.state}`,
          );
          return;
        }
        out.push({ kind: 'data', frame: event.frame });
        return;
      case 'control':
        this.handleControl(event.control, event.raw, out);
        return;
    }
  }

  private handleControl(control: ControlFrame, raw: Buffer, out: SessionOutput[]): void {
    const ct = this.contentType;
    switch (this.state) {
      case 'await-ready':
        if (control.type !== ControlType.READY) break;
        if (!control.contentTypes.includes(ct)) {
          this.failWith(
            out,
            'fstrm-content-type',
            raw,
            `READY offers [${control.contentTypes.join(', ')}], not ${ct}`,
          );
          return;
        }
        out.push({ kind: 'write', bytes: encodeControlFrame(ControlType.ACCEPT, [ct]) });
        this.state = 'await-start';
        return;
      case 'await-start':
        if (control.type !== ControlType.START) break;
        // START may omit the content type; when present it must be ours.
        if (control.contentTypes.length > 0 && !control.contentTypes.includes(ct)) {
          this.failWith(
            out,
            'fstrm-content-type',
            raw,
            `START carries [${control.contentTypes.join(', ')}], not ${ct}`,
          );
          return;
        }
        this.state = 'data';
        return;
      case 'data':
        if (control.type !== ControlType.STOP) break;
        if (this.options.bidirectional)
          out.push({ kind: 'write', bytes: encodeControlFrame(ControlType.FINISH) });
        this.state = 'stopped';
        out.push({ kind: 'close' });
        return;
      case 'stopped':
      case 'failed':
        return;
    }
    this.failWith(
      out,
      'fstrm-unexpected-control',
      raw,
      `control type ${control.type} in state ${this.state}`,
    );
  }

  private failWith(
    out: SessionOutput[],
    reason: FrameStreamErrorReason | FrameStreamAbortReason,
    raw: Buffer,
    detail: string,
  ): void {
    out.push({ kind: 'error', reason, raw, detail });
    this.state = 'failed';
    out.push({ kind: 'close' });
  }
}
