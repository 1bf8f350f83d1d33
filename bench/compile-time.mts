// Compile time of a GPT training step on the native target, phase by phase, from a cold cache
// (issue #12's D128 4-heads T64 B16 V65 GPT; --blocks N, default 4): trace, graph passes, schedule,
// IR generation (the llvm-bindings child), opt, llc, link, and the LLVM build's wall time. opt/llc/link
// are the tools' summed wall times (they run concurrently where the build splits the program). Then
// --changed rebuilds the same step with the final LayerNorm's eps changed (a constant of the kernels
// that read it), into the same cache: what a small change costs.
//   npx tsx --conditions=kiln-source bench/compile-time.mts [--blocks 4] [--dim 128] [--changed] [--schedule-only]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { manualSeed, nn, optim, randn, type Tensor } from '../compiler/index.js';
import { trace } from '../compiler/trace.js';
import { runPasses } from '../compiler/passes/index.js';
import { schedule } from '../compiler/kernel/schedule.js';
import { StateLayout } from '../compiler/kernel/memory.js';
import { compileNativeAsync, toolchainStats } from '../targets/llvm/index.js';

const { values: flags } = parseArgs({
  options: {
    blocks: { type: 'string', default: '4' },
    dim: { type: 'string', default: '128' },
    changed: { type: 'boolean', default: false },
    'schedule-only': { type: 'boolean', default: false },
  },
});
const blocks = Number(flags.blocks),
  D = Number(flags.dim),
  heads = 4,
  T = 64,
  B = 16,
  V = 65;

class GPT extends nn.Module {
  readonly tok = new nn.Embedding(V, D);
  readonly pos = new nn.Parameter(randn([T, D]).mul(0.02));
  readonly layers = new nn.ModuleList(
    Array.from(
      { length: blocks },
      () =>
        new nn.TransformerEncoderLayer(D, heads, {
          dimFeedforward: 4 * D,
          dropout: 0,
          activation: 'gelu',
          batchFirst: true,
          normFirst: true,
        }),
    ),
  );
  readonly norm: nn.LayerNorm;
  readonly head = new nn.Linear(D, V);
  constructor(normEps: number) {
    super();
    this.norm = new nn.LayerNorm(D, { eps: normEps });
  }
  forward(idx: Tensor): Tensor {
    let x = this.tok.forward(idx).add(this.pos);
    for (const l of this.layers) x = (l as nn.TransformerEncoderLayer).forward(x, { isCausal: true });
    return this.head.forward(this.norm.forward(x));
  }
}

const ms = (t0: number) => performance.now() - t0;
const fmt = (x: number) => `${(x / 1000).toFixed(2)} s`.padStart(9);

async function measure(normEps: number, cacheDir: string): Promise<Record<string, number>> {
  manualSeed(0);
  const model = new GPT(normEps);
  const criterion = new nn.CrossEntropyLoss();
  const opt = new optim.AdamW(model.parameters(), { lr: 1e-3 });
  const step = (idx: Tensor, y: Tensor) => {
    const logits = model.forward(idx);
    const loss = criterion.forward(logits.reshape([B * T, V]), y.reshape([B * T]));
    opt.zeroGrad();
    loss.backward();
    opt.step();
    return loss;
  };
  const out: Record<string, number> = {};
  let t = performance.now();
  const traced = trace(step, [
    { shape: [B, T], dtype: 'int32' },
    { shape: [B, T], dtype: 'int32' },
  ]);
  out.trace = ms(t);
  t = performance.now();
  const gp = runPasses(traced.graph);
  out.passes = ms(t);
  t = performance.now();
  const kp = schedule(gp, new StateLayout(), { passes: false });
  out.schedule = ms(t);
  out.kernels = kp.kernels.length;
  if (flags['schedule-only']) return out;
  const before = { ...toolchainStats.ms, runs: toolchainStats.runs };
  t = performance.now();
  await compileNativeAsync(kp, { cacheDir });
  const build = ms(t);
  for (const k of ['codegen', 'opt', 'llc', 'link'] as const) out[k] = toolchainStats.ms[k] - before[k];
  out['llvm wall'] = build - out.codegen;
  out['tool runs'] = toolchainStats.runs - before.runs;
  out.total = out.trace + out.passes + out.schedule + build;
  return out;
}

const cacheDir = mkdtempSync(join(tmpdir(), 'kiln-compile-time-'));
try {
  const runs = [{ name: 'cold', r: await measure(1e-5, cacheDir) }];
  if (flags.changed) runs.push({ name: 'one change', r: await measure(1e-6, cacheDir) });
  console.log(`GPT D${D} ${heads} heads ${blocks} blocks T${T} B${B} V${V}, native, fresh cache`);
  for (const key of Object.keys(runs[0].r)) {
    const counts = key === 'kernels' || key === 'tool runs';
    const cells = runs.map(({ r }) => (counts ? String(r[key]).padStart(9) : fmt(r[key])));
    console.log(`  ${key.padEnd(10)} ${cells.join('  ')}`);
  }
  if (runs.length > 1) console.log(`  (columns: ${runs.map((r) => r.name).join(', ')})`);
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}
