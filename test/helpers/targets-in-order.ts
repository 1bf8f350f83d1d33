// Run as a fresh process: `node --import tsx test/helpers/targets-in-order.ts native webgpu native`
// trains the seed for a few steps on each target in turn (each with an empty native cache, so
// every native stage really builds) and prints one JSON line: per stage the losses next to the
// reference's, and which LLVM libraries this process has loaded.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSeed, seedSetup, trainSteps } from './seed.js';

const STEPS = 3;
const report = () => process.report.getReport() as unknown as { sharedObjects: string[] };
const libs = (re: RegExp) => report().sharedObjects.filter((s) => re.test(s));

const stages = [];
for (const target of process.argv.slice(2)) {
  const cache = mkdtempSync(join(tmpdir(), 'kiln-order-'));
  process.env.KILN_CACHE_DIR = cache;
  const want = await trainSteps(seedSetup(), await compileSeed(seedSetup(), 'reference'), 0, STEPS);
  const got = await trainSteps(seedSetup(), await compileSeed(seedSetup(), target), 0, STEPS);
  stages.push({ target, got, want });
  rmSync(cache, { recursive: true, force: true });
}
const llvmBindings = libs(/llvm-bindings\.node$|libLLVM-14/);
console.log(JSON.stringify({ stages, llvmBindings, dawn: libs(/dawn\.node$/) }));
process.exit(0);
