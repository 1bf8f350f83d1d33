// The fuzz campaign as a vitest suite: a fresh seed each run (printed, and named in every failure
// with the command that replays it), so that `npm test` keeps sampling new programs. The long
// campaign is `npm run fuzz` (scripts/fuzz.ts).
import { expect, it } from 'vitest';
import { formatFailure, runCampaign } from './driver.js';

export function fuzzSuite(target: string, cases: number, maxBuffers: number): void {
  const seed = Number(process.env.KILN_FUZZ_SEED ?? Math.floor(Math.random() * 1e9));
  it(`${cases} random programs and training steps on ${target} equal the reference (seed ${seed})`, async () => {
    console.log(
      `fuzz on ${target}: seed ${seed} (replay: KILN_FUZZ_SEED=${seed}, ` +
        `or npm run fuzz -- --targets ${target} --seed ${seed} --cases ${cases})`,
    );
    const r = await runCampaign({ target, seed, cases, maxBuffers, minimize: true });
    expect(r.graphCases).toBeGreaterThan(0);
    expect(r.trainCases).toBeGreaterThan(0);
    expect(r.failures.map(formatFailure)).toEqual([]);
  }, 600_000);
}
