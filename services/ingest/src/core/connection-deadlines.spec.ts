import { ConnectionDeadlines } from './connection-deadlines';
import {
  ControlType,
  DNSTAP_CONTENT_TYPE,
  encodeControlFrame,
  encodeDataFrame,
  FrameStreamSession,
  type SessionOutput,
} from './frame-streams';

const settings = { handshakeMs: 1000, frameMs: 2000, idleMs: 0 };

describe('ConnectionDeadlines', () => {
  it('cuts a connection that does not reach START within the handshake deadline', () => {
    const d = new ConnectionDeadlines(settings, 0);
    expect(d.expired(999)).toBeNull();
    d.onRead(500, 1, 0, false); // READY came, START did not
    expect(d.expired(999)).toBeNull();
    expect(d.expired(1000)).toBe('handshake-timeout');
  });

  it('measures a frame from its first byte, so trickling bytes does not keep it alive', () => {
    const d = new ConnectionDeadlines(settings, 0);
    d.onRead(10, 2, 0, true); // READY, START
    d.onRead(100, 0, 3, true); // first bytes of a frame
    for (let t = 200; t < 2100; t += 100) d.onRead(t, 0, 3 + t / 100, true);
    expect(d.expired(2099)).toBeNull();
    expect(d.expired(2100)).toBe('frame-timeout');
  });

  it('restarts the frame clock when a read completes frames and leaves a new partial one', () => {
    const d = new ConnectionDeadlines(settings, 0);
    d.onRead(10, 2, 0, true);
    d.onRead(100, 0, 50, true);
    d.onRead(1500, 3, 20, true); // the old frame completed, a new one began in this read
    expect(d.expired(2200)).toBeNull();
    expect(d.expired(3500)).toBe('frame-timeout');
  });

  it('never expires an idle connection at a frame boundary unless an idle deadline is set', () => {
    const quiet = new ConnectionDeadlines(settings, 0);
    quiet.onRead(10, 2, 0, true);
    expect(quiet.expired(10_000_000)).toBeNull();
    const strict = new ConnectionDeadlines({ ...settings, idleMs: 5000 }, 0);
    strict.onRead(10, 2, 0, true);
    expect(strict.expired(5009)).toBeNull();
    expect(strict.expired(5010)).toBe('idle-timeout');
  });

  it('gives a closing peer the handshake deadline to go away', () => {
    const d = new ConnectionDeadlines(settings, 0);
    d.onRead(10, 3, 0, true);
    d.closing(100);
    expect(d.isClosing).toBe(true);
    expect(d.expired(1099)).toBeNull();
    expect(d.expired(1100)).toBe('handshake-timeout');
  });
});

describe('FrameStreamSession, as the listener drives the deadlines', () => {
  const ready = encodeControlFrame(ControlType.READY, [DNSTAP_CONTENT_TYPE]);
  const start = encodeControlFrame(ControlType.START, [DNSTAP_CONTENT_TYPE]);

  it('reports frames seen, bytes held and the handshake, and aborts with the partial frame', () => {
    const session = new FrameStreamSession({ bidirectional: true });
    const out: SessionOutput[] = [];
    session.push(ready, out);
    expect(session.handshakeDone).toBe(false);
    const frame = encodeDataFrame(Buffer.from('a dnstap frame'));
    session.push(Buffer.concat([start, frame, frame.subarray(0, 7)]), out);
    expect(session.handshakeDone).toBe(true);
    expect(session.framesSeen).toBe(3);
    expect(session.bufferedBytes).toBe(7);
    out.length = 0;
    session.abort('fstrm-frame-timeout', 'stalled', out);
    expect(out).toEqual([
      {
        kind: 'error',
        reason: 'fstrm-frame-timeout',
        raw: frame.subarray(0, 7),
        detail: 'stalled',
      },
      { kind: 'close' },
    ]);
    // Closed once: neither a second abort nor the peer's end adds anything.
    out.length = 0;
    session.abort('fstrm-frame-timeout', 'again', out);
    session.end(out);
    expect(out).toEqual([]);
  });
});
