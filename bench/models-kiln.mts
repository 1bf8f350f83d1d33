// Child of bench/models.mts: kiln's side on ONE target per process (Dawn and llvm-bindings never share one),
// and on 'webgpu' also TensorFlow.js's webgpu backend on the same Dawn device. Prints one JSON line.
//   npx tsx --conditions=kiln-source bench/models-kiln.mts native|webgpu cnn,gpt,gpt128 [--tfjs cnn,gpt]
// Per model: compile() and the first run timed (the first call), WARMUP more steps, then STEPS steps timed one
// by one (each returns the loss on the host: `(await step.run(x, y))`, then `.item()`), the median.
import { compile, manualSeed, type Tensor } from '../compiler/index.js';
import {
  BATCH_SIZE,
  DigitsCNN,
  digitsOptimizer,
  digitsTrainStep,
  imageSpec,
  labelSpec,
} from '../examples/digits-cnn-model.js';
import { makeOptimizer, makeScheduler, trainStepFn } from '../examples/char-gpt-model.js';
import { benchGpt, cnnBatches, GPT_TRAIN, gptData, STEPS, timeSteps, WARMUP, type Timing } from './models-common.mjs';

const lossOf = (r: unknown) => (Array.isArray(r) ? (r[0] as Tensor) : (r as Tensor)).item();

async function kilnCnn(target: string): Promise<Timing> {
  const batches = cnnBatches(1 + WARMUP + STEPS);
  manualSeed(0); // the twin's torch.manual_seed(0): the same initial weights
  const model = new DigitsCNN();
  const { optimizer } = digitsOptimizer(model);
  const t0 = performance.now();
  const step = await compile(digitsTrainStep(model, optimizer), {
    inputs: [imageSpec(BATCH_SIZE), labelSpec(BATCH_SIZE)],
    target,
  });
  const compileMs = performance.now() - t0;
  const r = await timeSteps(async (k) => lossOf(await step.run(...batches[k])), t0);
  const s = step.stats();
  return { ...r, compileMs, kernels: s.kernels, launches: s.launchesPerRun };
}

async function kilnGpt(name: string, target: string): Promise<Timing> {
  const { vocab, batches } = gptData(name, 1 + WARMUP + STEPS);
  const { model, tokens } = benchGpt(name, vocab);
  const optimizer = makeOptimizer(model, GPT_TRAIN);
  const scheduler = makeScheduler(optimizer, GPT_TRAIN);
  const t0 = performance.now();
  const step = await compile(trainStepFn(model, optimizer, GPT_TRAIN), { inputs: [tokens, tokens], target });
  const compileMs = performance.now() - t0;
  const r = await timeSteps(async (k) => {
    const loss = lossOf(await step.run(...batches[k]));
    scheduler.step(); // as the example's loop: the learning rate is a live hyperparameter of the step
    return loss;
  }, t0);
  const s = step.stats();
  return { ...r, compileMs, kernels: s.kernels, launches: s.launchesPerRun };
}

{
  const [which, list = 'cnn,gpt,gpt128'] = process.argv.slice(2);
  const tfjsAt = process.argv.indexOf('--tfjs');
  const tfjsModels = tfjsAt > 0 ? process.argv[tfjsAt + 1].split(',').filter(Boolean) : [];
  const out: Record<string, unknown> = { target: which, kiln: {}, tfjs: {} };
  let target = which;
  let tfjs: typeof import('./models-tfjs.mjs') | undefined;
  if (which === 'webgpu') {
    // one Dawn device (llvmpipe, as the 'webgpu' target's Node default), shared with tfjs
    tfjs = await import('./models-tfjs.mjs');
    const dev = await tfjs.setup();
    out.device = dev.name;
    out.tfjsVersion = dev.tfjsVersion;
    target = dev.target;
  } else if (which !== 'native') throw new Error(`models-kiln: target ${which}: native or webgpu`);
  for (const m of list.split(',').filter(Boolean)) {
    process.stderr.write(`  kiln ${which} ${m}...\n`);
    try {
      (out.kiln as Record<string, unknown>)[m] = m === 'cnn' ? await kilnCnn(target) : await kilnGpt(m, target);
    } catch (e) {
      (out.kiln as Record<string, unknown>)[m] = { error: String((e as Error).message).split('\n')[0] };
    }
  }
  for (const m of tfjsModels) {
    process.stderr.write(`  tfjs ${m}...\n`);
    try {
      (out.tfjs as Record<string, unknown>)[m] = await tfjs!.run(m);
    } catch (e) {
      (out.tfjs as Record<string, unknown>)[m] = { error: String((e as Error).message).split('\n')[0] };
    }
  }
  console.log(JSON.stringify(out));
  process.exit(0); // Dawn keeps the event loop alive
}
