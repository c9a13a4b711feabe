/**
 * The memory benchmark's traffic source, run as its own process so the detector's process holds
 * only what the detector holds: the 20 M-unique-name flood as encoded query batches (the wire
 * format the consumer reads), framed on stdout as u32le length + batch, 5,000 queries each.
 * Each batch carries a one-byte prefix: how many of its queries are flood (not benign), / 50.
 */
import { encodeQueryBatch, type QueryEvent } from '@sluice/contracts';
import { simulateLabelled, type ScenarioSpec } from '@sluice/traffic-sim';

const spec = JSON.parse(process.argv[2]!) as ScenarioSpec;
let batch: QueryEvent[] = [];
let flooded = 0;
let waiting = false;
const out: Buffer[] = [];

function frame(): Buffer {
  const body = encodeQueryBatch({ v: 1, source: 'bench', zone: '', events: batch });
  const head = Buffer.alloc(8);
  head.writeUInt32LE(body.length, 0);
  head.writeUInt32LE(flooded, 4);
  batch = [];
  flooded = 0;
  return Buffer.concat([head, body]);
}

const source = simulateLabelled(spec)[Symbol.iterator]();
function pump(): void {
  for (;;) {
    const next = source.next();
    if (next.done) {
      if (batch.length) out.push(frame());
      process.stdout.end(Buffer.concat(out));
      return;
    }
    batch.push(next.value.event);
    if (next.value.origin !== 'benign') flooded++;
    if (batch.length >= 5000) {
      // Backpressure: stop generating while the detector has not read what was written.
      if (!process.stdout.write(frame())) {
        waiting = true;
        process.stdout.once('drain', () => {
          waiting = false;
          pump();
        });
        return;
      }
    }
  }
}
void waiting;
pump();
