import { failureText, runFuzz } from '@sluice/testing';
import { rpzXfrFuzzTarget } from '../fuzz/rpz-xfr.target';

/**
 * CI slice of the RPZ server's fuzz target (pnpm fuzz rpz-xfr-server runs a million): a hostile
 * client's mutated SOA/AXFR/IXFR/NOTIFY queries over real UDP and TCP to two servers on loopback.
 */
const inputs = Number(process.env.FUZZ_INPUTS ?? 2_000);
const seed = Number(process.env.FUZZ_SEED ?? 20_261_130);

describe('fuzz: rpz-xfr-server', () => {
  it(`counts every one of ${inputs} hostile requests and keeps serving signed transfers`, async () => {
    const target = await rpzXfrFuzzTarget.create();
    try {
      const report = await runFuzz(target, { inputs, seed, checkEvery: 250 });
      expect(failureText(report)).toBeNull();
      expect(report.inputs).toBe(inputs);
      expect(report.decodedInputs).toBeGreaterThan(inputs * 0.02);
      expect(report.malformedInputs).toBeGreaterThan(inputs * 0.2);
    } finally {
      await target.close?.();
    }
  }, 120_000);
});
