// Kernel replay: every kernel of a fixed corpus of programs, as kernel IR, WGSL and LLVM IR, written
// to test/replay/ (one file per program, committed). A refactor that should change no kernel is
// proven by `npm run replay -- --check` (exit 1 and the changed files if any differ); a change that
// does alter kernels shows, file by file, in `git diff test/replay/` after `npm run replay`, and its
// commit message explains each. The corpus: the seed step at batch 1/8/64, the MLP 784-256-10 step
// at batch 64, every optimizer with every flag (first and later step), the char GPT example's step (1 block), the
// first 50 random graphs.
// LLVM IR is printed for a fixed CPU (x86-64-v3) so that the snapshot is the same on every machine.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, manualSeed, nn, optim, type Tensor } from '../compiler/index.js';
import type { GraphProgram } from '../compiler/ir/graph.js';
import type { KernelProgram } from '../compiler/ir/kernel.js';
import { StateLayout } from '../compiler/kernel/memory.js';
import { printKernel } from '../compiler/kernel/print.js';
import { schedule } from '../compiler/kernel/schedule.js';
import { llvmIR } from '../targets/llvm/index.js';
import { renderKernel } from '../targets/wgsl/index.js';
import { randomGraph, seedStep } from '../test/helpers/fusion-cases.js';
import { Gpt, makeOptimizer, trainStepFn } from '../examples/char-gpt-model.js';
import { DigitsCNN, digitsOptimizer, digitsTrainStep, imageSpec, labelSpec } from '../examples/digits-cnn-model.js';

const CPU = 'x86-64-v3';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'test', 'replay');

type Case = [name: string, graphs: () => Promise<GraphProgram[]> | GraphProgram[]];

const OPTIMIZERS: [string, Record<string, unknown>][] = [
  ['Adam', {}],
  ['Adam', { amsgrad: true }],
  ['Adam', { weightDecay: 0.1, maximize: true, amsgrad: true }],
  ['AdamW', {}],
  ['AdamW', { amsgrad: true, weightDecay: 0.05, maximize: true }],
  ['Adagrad', {}],
  ['Adagrad', { lrDecay: 0.01, weightDecay: 0.1, initialAccumulatorValue: 0.1, maximize: true }],
  ['RMSprop', {}],
  ['RMSprop', { centered: true }],
  ['RMSprop', { momentum: 0.9, centered: true, weightDecay: 0.1, maximize: true }],
  ['SGD', {}],
  ['SGD', { momentum: 0.9 }],
  ['SGD', { momentum: 0.9, nesterov: true, weightDecay: 0.1 }],
  ['SGD', { momentum: 0.9, dampening: 0.5, maximize: true }],
];

/** the traced programs of a training step's first two runs (the first creates optimizer state: the second re-traces) */
async function twoSteps(
  dims: number[],
  batch: number,
  name: string,
  opts: Record<string, unknown>,
): Promise<GraphProgram[]> {
  manualSeed(0);
  const layers: nn.Module[] = [];
  for (let i = 0; i + 1 < dims.length; i++) {
    layers.push(new nn.Linear(dims[i], dims[i + 1]));
    if (i + 2 < dims.length) layers.push(new nn.ReLU());
  }
  const model = new nn.Sequential(...layers);
  const lossFn = new nn.CrossEntropyLoss();
  const Opt = optim[name as keyof typeof optim] as unknown as new (
    p: Iterable<nn.Parameter>,
    o: object,
  ) => optim.Optimizer<object>;
  const opt = new Opt(model.parameters(), { lr: 1e-2, ...opts });
  const step = await compile(
    (x: Tensor, y: Tensor) => {
      opt.zeroGrad();
      const loss = lossFn.forward(model.forward(x), y);
      loss.backward();
      opt.step();
      return loss;
    },
    {
      inputs: [
        { shape: [batch, dims[0]], dtype: 'float32' },
        { shape: [batch], dtype: 'int32' },
      ],
      target: 'reference',
    },
  );
  const x = Float32Array.from({ length: batch * dims[0] }, (_, i) => Math.sin(i));
  const y = Int32Array.from({ length: batch }, (_, i) => i % dims[dims.length - 1]);
  for (let k = 0; k < 2; k++) await step.run(x, y);
  return step.programs.map((p) => p.graph);
}

/** the char GPT example's step (examples/char-gpt-model.ts) at a small size: attention, LayerNorm, AdamW, clipping */
async function gptSteps(): Promise<GraphProgram[]> {
  manualSeed(0);
  const model = new Gpt({ vocabSize: 20, blockSize: 8, nEmbd: 16, nHead: 2, nLayer: 1, dropout: 0, tied: true });
  const t = { lr: 1e-2, minLr: 1e-3, warmupIters: 2, maxIters: 10, weightDecay: 0.1, gradClip: 1.0 };
  const tc = { ...t, betas: [0.9, 0.95] as [number, number] };
  const tokens = { shape: [2, 8], dtype: 'int32' as const };
  const step = await compile(trainStepFn(model, makeOptimizer(model, tc), tc), {
    inputs: [tokens, tokens],
    target: 'reference',
  });
  const ids = Int32Array.from({ length: 16 }, (_, i) => (i * 7) % 20);
  for (let k = 0; k < 2; k++) await step.run(ids, ids);
  return step.programs.map((p) => p.graph);
}

/** the digits CNN example's step (conv, batch norm, pooling, dropout, Adam) at its batch of 32: padded convs */
async function cnnSteps(): Promise<GraphProgram[]> {
  manualSeed(0);
  const model = new DigitsCNN();
  const { optimizer } = digitsOptimizer(model);
  const step = await compile(digitsTrainStep(model, optimizer), {
    inputs: [imageSpec(32), labelSpec(32)],
    target: 'reference',
  });
  const x = Float32Array.from({ length: 32 * 64 }, (_, i) => (i % 17) / 16);
  const y = Int32Array.from({ length: 32 }, (_, i) => i % 10);
  for (let k = 0; k < 2; k++) await step.run(x, y);
  return step.programs.map((p) => p.graph);
}

function corpus(): Case[] {
  const cases: Case[] = [1, 8, 64].map((b) => [`seed-b${b}`, () => [seedStep(b)]]);
  cases.push(['mlp784-256-10-b64', () => twoSteps([784, 256, 10], 64, 'Adam', { lr: 1e-3 })]);
  for (const [name, opts] of OPTIMIZERS) {
    const flags = Object.keys(opts).join('-') || 'defaults';
    cases.push([`optim-${name}-${flags}`, () => twoSteps([3, 4, 2], 4, name, opts)]);
  }
  cases.push(['char-gpt-1block-b2', gptSteps]);
  cases.push(['digits-cnn-b32', cnnSteps]);
  for (let s = 1; s <= 50; s++) cases.push([`random-${String(s).padStart(2, '0')}`, () => [randomGraph(s)]]);
  return cases;
}

/** every kernel of a scheduled program: kernel IR, WGSL, LLVM IR */
function render(p: KernelProgram): string {
  const parts: string[] = [];
  p.kernels.forEach((k, i) => {
    const wgsl = (() => {
      try {
        return renderKernel(k, p).wgsl;
      } catch (e) {
        return `// not renderable: ${(e as Error).message}`;
      }
    })();
    parts.push(
      `### kernel ${i}: ${k.name}\n#### kernel IR\n${printKernel(k)}\n` +
        `#### WGSL\n${wgsl}\n#### LLVM IR (${CPU})\n` +
        llvmIR(p, { kernel: i, cpu: CPU }),
    );
  });
  return parts.join('\n');
}

async function snapshot(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const [name, graphs] of corpus()) {
    const gps = await graphs();
    const text = gps
      .map((gp, i) => {
        const p = schedule(gp, new StateLayout());
        return `## program ${i} (${p.kernels.length} kernels)\n${render(p)}`;
      })
      .join('\n');
    files.set(`${name}.txt`, `# kernel replay: ${name}\n${text}\n`);
  }
  return files;
}

const files = await snapshot();
if (process.argv.includes('--check')) {
  const changed = [...files]
    .filter(([f, text]) => !existsSync(join(outDir, f)) || readFileSync(join(outDir, f), 'utf8') !== text)
    .map(([f]) => f);
  const gone = existsSync(outDir) ? readdirSync(outDir).filter((f) => f.endsWith('.txt') && !files.has(f)) : [];
  if (changed.length || gone.length) {
    console.log(
      `kernel replay: ${changed.length} programs changed, ${gone.length} gone:\n` + [...changed, ...gone].join('\n'),
    );
    console.log('run `npm run replay` and read `git diff test/replay/`');
    process.exit(1);
  }
  console.log(`kernel replay: ${files.size} programs, no kernel changed`);
} else {
  if (existsSync(outDir)) for (const f of readdirSync(outDir)) if (f.endsWith('.txt')) rmSync(join(outDir, f));
  mkdirSync(outDir, { recursive: true });
  for (const [f, text] of files) writeFileSync(join(outDir, f), text);
  const bytes = [...files.values()].reduce((a, t) => a + t.length, 0);
  console.log(
    `kernel replay: ${files.size} programs written to test/replay/ (${(bytes / 1e6).toFixed(1)} MB); ` +
      'see git diff test/replay/',
  );
}
