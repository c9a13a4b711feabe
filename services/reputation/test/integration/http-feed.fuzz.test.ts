import { failureText, runFuzz } from '@sluice/testing';
import { httpFeedFuzzTarget } from '../fuzz/http-feed.target';

/**
 * CI slice of the HTTP feed's fuzz target (pnpm fuzz http-feed runs a million): raw requests with
 * hostile paths, parameters, keys and headers to the whole reputation service on loopback, 8 in
 * flight as in the long run (FUZZ_CONCURRENCY changes it).
 */
const inputs = Number(process.env.FUZZ_INPUTS ?? 1_000);
const seed = Number(process.env.FUZZ_SEED ?? 20_261_130);

describe('fuzz: http-feed', () => {
  it(`answers ${inputs} hostile requests with 2xx/4xx, never 5xx, and keeps serving bouncers`, async () => {
    const target = await httpFeedFuzzTarget.create();
    try {
      const report = await runFuzz(target, { inputs, seed, checkEvery: 200 });
      expect(failureText(report)).toBeNull();
      expect(report.inputs).toBe(inputs);
      expect(report.decodedInputs).toBeGreaterThan(inputs * 0.05);
      expect(report.malformedInputs).toBeGreaterThan(inputs * 0.2);
    } finally {
      await target.close?.();
    }
  }, 180_000);
});
