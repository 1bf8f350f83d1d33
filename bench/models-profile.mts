// Where one of bench/models.mts's native steps goes: the step's kernels ranked by the scheduler's flop + byte
// counts, the TOP of them each compiled and timed alone (same buffers, back to back; median of 5), beside the
// whole program, with GFLOP/s and GB/s and the scheduler's strategy for each.
//   npx tsx --conditions=kiln-source bench/models-profile.mts [cnn|gpt|gpt128]   (env TOP=12, BY=time)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed } from '../compiler/index.js';
import { trace } from '../compiler/trace.js';
import { schedule } from '../compiler/kernel/schedule.js';
import { StateLayout } from '../compiler/kernel/memory.js';
import type { KernelProgram } from '../compiler/ir/kernel.js';
import { compileNative } from '../targets/llvm/index.js';
import { createNativeDevice } from '../runtime/native/index.js';
import {
  BATCH_SIZE,
  DigitsCNN,
  digitsOptimizer,
  digitsTrainStep,
  imageSpec,
  labelSpec,
} from '../examples/digits-cnn-model.js';
import { makeOptimizer, trainStepFn } from '../examples/char-gpt-model.js';
import { GPT_TRAIN, benchGpt, gptData } from './models-common.mjs';

const which = process.argv[2] ?? 'gpt128';
const TOP = Number(process.env.TOP ?? 12);
let traced;
if (which === 'cnn') {
  manualSeed(0);
  const model = new DigitsCNN();
  traced = trace(digitsTrainStep(model, digitsOptimizer(model).optimizer), [
    imageSpec(BATCH_SIZE),
    labelSpec(BATCH_SIZE),
  ]);
} else {
  const { vocab } = gptData(which, 0);
  const { model, tokens } = benchGpt(which, vocab);
  traced = trace(trainStepFn(model, makeOptimizer(model, GPT_TRAIN), GPT_TRAIN), [tokens, tokens]);
}
const kp = schedule(traced.graph, new StateLayout());
const cacheDir = mkdtempSync(join(tmpdir(), 'kiln-profile-'));
const dev = createNativeDevice();
const scalars = new Float32Array(Math.max(1, kp.host.scalarCount)).fill(0.5);
const inputs = kp.inputs.map((p) => {
  const n = p.shape.reduce((a, b) => a * b, 1);
  return p.dtype === 'float32' ? new Float32Array(n) : new Int32Array(n);
});
const load = async (ks: KernelProgram['kernels']) => {
  const exe = (await dev.load(compileNative({ ...kp, kernels: ks }, { cacheDir }))) as unknown as {
    runSync(i: typeof inputs, s: Float32Array): unknown;
  };
  return () => exe.runSync(inputs, scalars);
};
/** ms per call: the median of 5 rounds of enough calls for ~20 ms */
const time = (fn: () => unknown) => {
  fn();
  let n = 1;
  for (let t = performance.now(); performance.now() - t < 20; n++) fn();
  const r: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) fn();
    r.push((performance.now() - t) / n);
  }
  return r.sort((a, b) => a - b)[2];
};
const cost = (k: KernelProgram['kernels'][number]) => k.meta.flops + k.meta.bytesRead + k.meta.bytesWritten;
// ranked by flops + bytes, the TOP of them timed; BY=time: every kernel timed, the TOP slowest shown
const byTime = process.env.BY === 'time';
const ranked = [...kp.kernels].sort((a, b) => cost(b) - cost(a)).slice(0, byTime ? kp.kernels.length : TOP);
const whole = time(await load(kp.kernels));
const timed: { k: KernelProgram['kernels'][number]; ms: number }[] = [];
for (const k of ranked) timed.push({ k, ms: time(await load([k])) });
if (byTime) timed.sort((a, b) => b.ms - a.ms);
const sum = timed.reduce((s, t) => s + t.ms, 0);
console.log(`${which}: ${kp.kernels.length} kernels, whole program ${whole.toFixed(2)} ms per call (native)`);
console.log(`kernels alone (${byTime ? 'slowest' : 'most flops + bytes'} first), all of them: ${sum.toFixed(1)} ms`);
console.log('kernel                      grid        ms   share  GFLOP/s   GB/s  strategy; fused ops');
for (const { k, ms } of timed.slice(0, TOP)) {
  const m = k.meta;
  const how = `cpu ${k.strategy?.cpu.kind ?? '?'}, gpu ${k.strategy?.gpu.kind ?? '?'}`;
  const share = `${((100 * ms) / whole).toFixed(0)}%`;
  const rates = [m.flops / ms / 1e6, (m.bytesRead + m.bytesWritten) / ms / 1e6].map((x) => x.toFixed(1));
  const cells = [k.name.padEnd(26), `[${k.grid}]`.padEnd(10), ms.toFixed(3).padStart(7), share.padStart(5)];
  cells.push(rates[0].padStart(7), rates[1].padStart(5), `${how}; ${m.ops.length} ops: ${m.ops.slice(0, 4).join(' ')}`);
  console.log(cells.join(' '));
}
const top = timed.slice(0, TOP).reduce((s, t) => s + t.ms, 0);
const shown = Math.min(TOP, timed.length);
console.log(`these ${shown}: ${top.toFixed(1)} ms of ${whole.toFixed(1)} (${((100 * top) / whole).toFixed(0)}%)`);
rmSync(cacheDir, { recursive: true, force: true });
