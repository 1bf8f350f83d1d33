// `npm run fuzz -- [--cases N] [--seed S] [--targets native,webgpu] [--batch B] [--no-minimize]`
// Random programs and training steps on every device target, each against the reference target.
// Each target runs in a child process of its own (Dawn's LLVM and llvm-bindings' LLVM are kept
// apart, and a crash names its target). Every failure prints its seed, the minimized recipe and the
// command that replays it; the exit status is 1 if any case failed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatFailure, runCampaign, type CampaignResult } from '../test/fuzz/driver.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const cases = Number(opt('cases', '1000'));
const seed = Number(opt('seed', String(Math.floor(Math.random() * 1e9))));
const minimize = !args.includes('--no-minimize');

// the WebGPU binding limit (maxStorageBuffersPerShaderStage) bounds what one compile may carry
const BUFFERS: Record<string, number> = { native: 200, webgpu: 14, 'webgpu:swiftshader': 14 };

if (args.includes('--worker')) {
  const target = opt('target', 'native');
  const started = Date.now();
  const result = await runCampaign({
    target,
    seed,
    cases,
    minimize,
    batch: Number(opt('batch', '16')),
    maxBuffers: BUFFERS[target] ?? 200,
    onProgress: (done, failed) => {
      if (done % 200 < 16) {
        console.error(
          `[${target}] ${done}/${cases} cases, ${failed} failed, ` + `${((Date.now() - started) / 1000).toFixed(0)} s`,
        );
      }
    },
  });
  for (const f of result.failures) console.error(formatFailure(f));
  console.log(
    `KILN_FUZZ_RESULT ${JSON.stringify({
      target,
      seed,
      cases: result.cases,
      graph: result.graphCases,
      train: result.trainCases,
      failures: result.failures.map((f) => ({ seed: f.seed, what: f.what })),
      seconds: (Date.now() - started) / 1000,
    })}`,
  );
  process.exit(0);
}

const targets = opt('targets', 'native,webgpu').split(',');
const self = fileURLToPath(import.meta.url);
console.log(`kiln fuzz: ${cases} cases per target from seed ${seed} on ${targets.join(', ')}`);
const results: CampaignResult[] = [];
let failed = 0;
for (const target of targets) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=kiln-source',
      self,
      '--worker',
      '--target',
      target,
      '--seed',
      String(seed),
      '--cases',
      String(cases),
      '--batch',
      opt('batch', '16'),
      ...(minimize ? [] : ['--no-minimize']),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const code = await new Promise<number | null>((res) => child.on('close', res));
  const line = out.split('\n').find((l) => l.startsWith('KILN_FUZZ_RESULT '));
  if (!line) {
    console.log(
      `${target}: the worker died (exit ${code}) before reporting; ` +
        `replay: npm run fuzz -- --targets ${target} --seed ${seed}`,
    );
    failed++;
    continue;
  }
  const r = JSON.parse(line.slice('KILN_FUZZ_RESULT '.length));
  results.push(r);
  failed += r.failures.length;
  console.log(
    `${target}: ${r.cases} cases (${r.graph} graphs, ${r.train} training steps), ` +
      `${r.failures.length} mismatches, ${r.seconds.toFixed(0)} s`,
  );
  for (const f of r.failures) {
    console.log(
      `  seed ${f.seed}: ${f.what}  ` + `(replay: npm run fuzz -- --targets ${target} --seed ${f.seed} --cases 1)`,
    );
  }
}
console.log(`total: ${results.reduce((a, r) => a + r.cases, 0)} cases, ${failed} failures`);
process.exit(failed ? 1 : 0);
