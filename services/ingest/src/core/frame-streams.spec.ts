import {
  ControlType,
  DNSTAP_CONTENT_TYPE,
  encodeControlFrame,
  encodeDataFrame,
  FrameStreamSession,
  type SessionOutput,
} from './frame-streams';

const ready = encodeControlFrame(ControlType.READY, ['other', DNSTAP_CONTENT_TYPE]);
const start = encodeControlFrame(ControlType.START, [DNSTAP_CONTENT_TYPE]);
const stop = encodeControlFrame(ControlType.STOP);

function run(
  session: FrameStreamSession,
  bytes: Buffer,
  chunkSize = bytes.length,
): SessionOutput[] {
  const out: SessionOutput[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize)
    session.push(bytes.subarray(i, i + chunkSize), out);
  return out;
}

describe('FrameStreamSession (bidirectional)', () => {
  const stream = Buffer.concat([
    ready,
    start,
    encodeDataFrame(Buffer.from('one')),
    encodeDataFrame(Buffer.from('two')),
    stop,
  ]);

  it.each([1, 3, 7, stream.length])(
    'does the READY/ACCEPT/START/STOP/FINISH handshake in chunks of %i',
    (size) => {
      const out = run(new FrameStreamSession({ bidirectional: true }), stream, size);
      expect(out).toEqual([
        { kind: 'write', bytes: encodeControlFrame(ControlType.ACCEPT, [DNSTAP_CONTENT_TYPE]) },
        { kind: 'data', frame: Buffer.from('one') },
        { kind: 'data', frame: Buffer.from('two') },
        { kind: 'write', bytes: encodeControlFrame(ControlType.FINISH) },
        { kind: 'close' },
      ]);
    },
  );

  it('rejects a READY without our content type', () => {
    const out = run(
      new FrameStreamSession({ bidirectional: true }),
      encodeControlFrame(ControlType.READY, ['protobuf:other']),
    );
    expect(out.map((o) => o.kind)).toEqual(['error', 'close']);
    expect(out[0]).toMatchObject({ reason: 'fstrm-content-type' });
  });

  it('rejects an oversize data frame without buffering it', () => {
    const session = new FrameStreamSession({ bidirectional: true, maxDataFrame: 100 });
    const big = Buffer.alloc(4);
    big.writeUInt32BE(1_000_000);
    const out = run(session, Buffer.concat([ready, start, big]));
    expect(out.slice(1)).toMatchObject([
      { kind: 'error', reason: 'fstrm-oversize-frame' },
      { kind: 'close' },
    ]);
  });

  it('rejects a zero-length control frame', () => {
    const out = run(new FrameStreamSession({ bidirectional: true }), Buffer.alloc(8));
    expect(out[0]).toMatchObject({ kind: 'error', reason: 'fstrm-zero-length-control' });
  });

  it('rejects data before START', () => {
    const out = run(
      new FrameStreamSession({ bidirectional: true }),
      Buffer.concat([ready, encodeDataFrame(Buffer.from('x'))]),
    );
    expect(out[1]).toMatchObject({ kind: 'error', reason: 'fstrm-data-before-start' });
  });

  it('counts a sender that vanishes mid-frame, keeping the frames before it', () => {
    const session = new FrameStreamSession({ bidirectional: true });
    const cut = Buffer.concat([
      ready,
      start,
      encodeDataFrame(Buffer.from('whole')),
      encodeDataFrame(Buffer.from('partial')).subarray(0, 6),
    ]);
    const out = run(session, cut);
    session.end(out);
    expect(out.map((o) => o.kind)).toEqual(['write', 'data', 'error', 'close']);
    expect(out[2]).toMatchObject({ reason: 'fstrm-truncated' });
  });

  it('treats connect-then-close as a probe, not an error', () => {
    const out: SessionOutput[] = [];
    new FrameStreamSession({ bidirectional: true }).end(out);
    expect(out).toEqual([{ kind: 'close' }]);
  });
});

describe('FrameStreamSession (file)', () => {
  it('reads START, data, STOP without writing anything', () => {
    const out = run(
      new FrameStreamSession({ bidirectional: false }),
      Buffer.concat([start, encodeDataFrame(Buffer.from('a')), stop]),
    );
    expect(out).toEqual([{ kind: 'data', frame: Buffer.from('a') }, { kind: 'close' }]);
  });

  it('reports a file that ends without STOP', () => {
    const session = new FrameStreamSession({ bidirectional: false });
    const out = run(session, Buffer.concat([start, encodeDataFrame(Buffer.from('a'))]));
    session.end(out);
    expect(out.map((o) => o.kind)).toEqual(['data', 'error', 'close']);
  });
});
