/**
 * Deadlines of one live Frame Streams connection, as pure logic (the listener feeds it the
 * clock and what each read did; a timer asks it whether the connection has overstayed).
 *
 * - handshake: from connect until START (READY → ACCEPT → START). A sender that connects and
 *   says nothing, or sends READY and never reads ACCEPT nor sends START, holds a socket and a
 *   decoder for nothing.
 * - frame: how long one frame may take to arrive, measured from its first byte (not from the
 *   last byte: a sender trickling one byte a second must not keep a 1 MiB frame buffer alive).
 *   A real sender writes whole frames (libfstrm, Unbound and dnsdist use writev), so a frame
 *   spread over seconds is a stalled or hostile peer.
 * - idle: nothing at all received for that long, at a frame boundary. Off (0) by default: a
 *   nameserver serving quiet zones sends nothing for minutes, and libfstrm loses the frames
 *   it was writing when it finds the connection closed.
 * - closing: after STOP/FINISH or a protocol error the peer should close; one that does not is
 *   cut after the handshake deadline.
 */
export interface DeadlineSettings {
  handshakeMs: number;
  frameMs: number;
  /** 0: never. */
  idleMs: number;
}

export type DeadlineReason = 'handshake-timeout' | 'frame-timeout' | 'idle-timeout';

export class ConnectionDeadlines {
  private readonly connectedAt: number;
  private lastInputAt: number;
  /** When the oldest incomplete frame's first byte arrived; null at a frame boundary. */
  private frameStartedAt: number | null = null;
  private handshakeDone = false;
  private closingSince: number | null = null;

  constructor(
    private readonly settings: DeadlineSettings,
    now: number,
  ) {
    this.connectedAt = now;
    this.lastInputAt = now;
  }

  /**
   * After a read: `framesCompleted` frames (data or control) came out of it, `buffered` bytes of
   * an incomplete frame are left, `handshakeDone` says whether START was seen.
   */
  onRead(now: number, framesCompleted: number, buffered: number, handshakeDone: boolean): void {
    this.lastInputAt = now;
    this.handshakeDone = handshakeDone;
    if (buffered === 0) this.frameStartedAt = null;
    // A completed frame means the incomplete one left over began in this read.
    else if (framesCompleted > 0 || this.frameStartedAt === null) this.frameStartedAt = now;
  }

  /** The session ended (STOP or error) and the peer should now close. */
  closing(now: number): void {
    this.closingSince ??= now;
  }

  get isClosing(): boolean {
    return this.closingSince !== null;
  }

  /** The deadline this connection has passed, if any (checked by a timer). */
  expired(now: number): DeadlineReason | null {
    const s = this.settings;
    if (this.closingSince !== null)
      return now - this.closingSince >= s.handshakeMs ? 'handshake-timeout' : null;
    if (!this.handshakeDone)
      return now - this.connectedAt >= s.handshakeMs ? 'handshake-timeout' : null;
    if (this.frameStartedAt !== null && now - this.frameStartedAt >= s.frameMs)
      return 'frame-timeout';
    if (s.idleMs > 0 && this.frameStartedAt === null && now - this.lastInputAt >= s.idleMs)
      return 'idle-timeout';
    return null;
  }
}
