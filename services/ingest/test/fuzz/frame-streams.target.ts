import {
  applyMutations,
  chunked,
  chunkSizes,
  describeMutant,
  fc,
  recipeArbitrary,
  type FuzzTarget,
  type FuzzTargetFactory,
  type Mutation,
} from '@sluice/testing';
import {
  type FrameStreamErrorReason,
  FrameStreamSession,
  parseControlBody,
  ControlType,
  type SessionOutput,
} from '../../src/core/frame-streams';
import { DnstapIngest, FstrmFileIngest } from '../../src/core/sources';
import { ZoneMapper } from '../../src/core/zone-mapper';
import { DNS_REASONS } from './dns.target';
import { Outcomes, sameOutcomes, tallyVerdict } from './outcomes';
import { fstrmSeeds } from './seeds';

export const FSTRM_REASONS = [
  'fstrm-oversize-frame',
  'fstrm-zero-length-control',
  'fstrm-bad-control',
  'fstrm-content-type',
  'fstrm-unexpected-control',
  'fstrm-data-before-start',
  'fstrm-truncated',
] as const satisfies readonly FrameStreamErrorReason[];
const fstrmReasonsComplete: [
  Exclude<FrameStreamErrorReason, (typeof FSTRM_REASONS)[number]>,
] extends [never]
  ? true
  : never = true;
void fstrmReasonsComplete;
const DNSTAP_REASONS = ['dnstap-decode', 'dnstap-incomplete'] as const;
const FRAME_LEVEL = new Set<string>([...DNSTAP_REASONS, ...DNS_REASONS]);

interface Input {
  seed: number;
  mutations: Mutation[];
  chunks: number[];
}

const zones = new ZoneMapper(['example.com', 'victim.test']);
const noPairing = { pairWindowMs: 0, maxPending: 1 };
/** Small enough that mutated lengths reach it; real senders stay far below. */
const MAX_FRAME = 64 * 1024;

/** A .fstrm file, read as the replay reads it. */
function readFile(bytes: Buffer, chunks: number[]) {
  const out = new Outcomes('fstrm file');
  const ingest = new FstrmFileIngest('fuzz.fstrm', { zones, sink: out, assembler: noPairing });
  for (const c of chunked(bytes, chunks)) ingest.push(c);
  ingest.end();
  return { out, tally: ingest.tally };
}

/** A socket sender, handled as the dnstap listener handles it (writes checked, one close). */
function readSocket(bytes: Buffer, chunks: number[]) {
  const out = new Outcomes('dnstap socket');
  const session = new FrameStreamSession({ bidirectional: true, maxDataFrame: MAX_FRAME });
  const ingest = new DnstapIngest('fuzz-socket', { zones, sink: out, assembler: noPairing });
  const outputs: SessionOutput[] = [];
  const written: number[] = [];
  let closes = 0;
  const drain = () => {
    for (const o of outputs) {
      switch (o.kind) {
        case 'write': {
          if (o.bytes.readUInt32BE(0) !== 0 || o.bytes.readUInt32BE(4) !== o.bytes.length - 8)
            throw new Error('the receiver wrote something that is not a control frame');
          const control = parseControlBody(o.bytes.subarray(8));
          if (!control) throw new Error('the receiver wrote an unparseable control frame');
          written.push(control.type);
          break;
        }
        case 'data':
          ingest.frame(o.frame);
          break;
        case 'error':
          ingest.framingError(o.reason, o.raw, o.detail);
          break;
        case 'close':
          closes++;
          ingest.flush();
          break;
      }
    }
    outputs.length = 0;
  };
  for (const c of chunked(bytes, chunks)) {
    session.push(c, outputs);
    drain();
    if (closes > 0) break; // the listener closes the socket: nothing more is read
  }
  if (closes === 0) {
    session.end(outputs);
    drain();
  }
  if (closes !== 1) throw new Error(`the session closed ${closes} times`);
  const accepts = written.filter((t) => t === ControlType.ACCEPT).length;
  const finishes = written.filter((t) => t === ControlType.FINISH).length;
  if (accepts > 1 || finishes > 1 || written.length !== accepts + finishes)
    throw new Error(`the receiver wrote control frames ${JSON.stringify(written)}`);
  return { out, tally: ingest.tally };
}

/**
 * Frame Streams and dnstap: mutated .fstrm files and socket transcripts (READY/ACCEPT/START …
 * STOP/FINISH) of real dnstap frames, cut into random chunks. Every data frame must come out as
 * one record, one ignored message or one malformed count (no pairing, so the counts add up
 * exactly); a stream fails at most once, with an fstrm-* reason; the result must not depend on
 * where the chunks were cut.
 */
export const frameStreamsFuzzTarget: FuzzTargetFactory = {
  name: 'frame-streams',
  network: false,
  description:
    'Frame Streams files and socket transcripts of real dnstap frames (AUTH/CLIENT query and response, resolver-side), random chunking → FstrmFileIngest / FrameStreamSession + DnstapIngest',
  create() {
    const seeds = fstrmSeeds();
    const arbitrary = fc
      .tuple(recipeArbitrary(seeds.length), chunkSizes())
      .map(([r, chunks]): Input => ({ ...r, chunks }));
    const bytesOf = (i: Input) => {
      const s = seeds[i.seed]!;
      return applyMutations(s.bytes, i.mutations, seeds, s.fields);
    };
    const target: FuzzTarget<Input> = {
      name: 'frame-streams',
      arbitrary,
      reasons: [...FSTRM_REASONS, ...DNSTAP_REASONS, ...DNS_REASONS],
      describe: (i) =>
        `${describeMutant(seeds, { seed: i.seed, mutations: i.mutations, bytes: bytesOf(i) })}\nchunks ${JSON.stringify(i.chunks)}`,
      run(i) {
        const bytes = bytesOf(i);
        const read = seeds[i.seed]!.bidirectional ? readSocket : readFile;
        const a = read(bytes, i.chunks);
        const b = read(bytes, []);
        sameOutcomes(a.out, b.out, 'whole vs chunked');
        const t = a.tally;
        let frameLevel = 0;
        let streamLevel = 0;
        for (const [reason, n] of t.malformed) {
          if (FRAME_LEVEL.has(reason)) frameLevel += n;
          else streamLevel += n;
        }
        if (t.packets !== t.records + t.ignored + frameLevel)
          throw new Error(
            `${t.packets} frames but ${t.records} records + ${t.ignored} ignored + ${frameLevel} malformed`,
          );
        if (streamLevel > 1) throw new Error(`${streamLevel} stream errors: a stream fails once`);
        return tallyVerdict(t, streamLevel === 0);
      },
    };
    return Promise.resolve(target as FuzzTarget<unknown>);
  },
};
