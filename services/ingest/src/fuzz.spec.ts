import { failureText, runFuzz } from '@sluice/testing';
import { ingestFuzzTargets } from '../test/fuzz';

/**
 * The CI slice of the ingest's fuzz targets (scripts/fuzz.sh runs the same targets at a million
 * inputs each). A failure prints the minimised input and the seed and path that replay it:
 *   FUZZ_SEED=<seed> npx jest --selectProjects unit --testPathPatterns ingest/src/fuzz
 *   pnpm fuzz <target> --seed <seed> --path <path> --inputs 1
 */
const inputs = Number(process.env.FUZZ_INPUTS ?? 5_000);
const seed = Number(process.env.FUZZ_SEED ?? 20_261_130);

describe.each(ingestFuzzTargets.map((t) => [t.name, t] as const))('fuzz: %s', (_name, factory) => {
  it(`ends ${inputs} mutated real inputs decoded or counted, without a throw, a hang or a leak`, async () => {
    const target = await factory.create();
    const report = await runFuzz(target, { inputs, seed });
    await target.close?.();
    expect(failureText(report)).toBeNull();
    expect(report.inputs).toBe(inputs);
    // The mutations must reach both sides: valid inputs still decode, damaged ones are counted.
    expect(report.decodedInputs).toBeGreaterThan(inputs * 0.02);
    expect(report.malformedInputs).toBeGreaterThan(inputs * 0.2);
  }, 120_000);
});
