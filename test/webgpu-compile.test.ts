// compile() on the 'webgpu' target through the public API: several compiled functions sharing
// the device's state, sync() bringing it back to the host objects, and state moving between
// targets (reference -> webgpu -> SwiftShader -> reference) with the same numbers as training on
// the reference target alone. Each describe names its target; each test logs its adapter.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compile, type Tensor } from '../compiler/index.js';
import { relErr } from './helpers/golden.js';
import { adapterOf, compileSeed, seedSetup, trainSteps, type Seed } from './helpers/seed.js';

const TOL = 1e-5; // against the reference target (measured ~1e-7)
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

/** every parameter and every optimizer state tensor, by name */
function snapshot(s: Seed): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(s.model.stateDict())) out[k] = t.data;
  const sd = s.optimizer.stateDict();
  for (const [i, st] of Object.entries(sd.state)) {
    for (const [k, v] of Object.entries(st as Record<string, unknown>)) {
      out[`state.${i}.${k}`] = typeof v === 'number' ? Float32Array.of(v) : (v as { data: Float32Array }).data;
    }
  }
  return out;
}

function expectClose(got: Record<string, Float32Array>, want: Record<string, Float32Array>, what: string): number {
  expect(Object.keys(got).sort(), what).toEqual(Object.keys(want).sort());
  let worst = 0;
  for (const k of Object.keys(want)) {
    const e = relErr(got[k], want[k]);
    worst = Math.max(worst, e);
    expect(e, `${what}: ${k}`).toBeLessThanOrEqual(TOL);
  }
  return worst;
}

/** the seed's evaluation step (forward and loss only) over the same model */
const evalStep = (s: Seed, target: string) =>
  compile((x: Tensor, y: Tensor) => s.criterion.forward(s.model.forward(x), y), { inputs: s.inputs, target });

for (const target of ['webgpu', 'webgpu:swiftshader']) {
  describe(`compile() on ${target}`, () => {
    it('a training step and an evaluation step share the parameters on the device', async () => {
      const s = seedSetup(),
        r = seedSetup();
      const [train, evaluate] = [await compileSeed(s, target), await evalStep(s, target)];
      const [rTrain, rEval] = [await compileSeed(r, 'reference'), await evalStep(r, 'reference')];
      const probe = s.batch(19);
      const before = (await evaluate.run(...probe)).item();
      let worst = 0;
      for (let k = 0; k < 8; k++) {
        const [l, rl] = [(await train.run(...s.batch(k))).item(), (await rTrain.run(...r.batch(k))).item()];
        const [e, re] = [(await evaluate.run(...probe)).item(), (await rEval.run(...probe)).item()];
        worst = Math.max(worst, rel(l, rl), rel(e, re));
        expect(rel(l, rl), `train loss at step ${k}`).toBeLessThanOrEqual(TOL);
        expect(rel(e, re), `eval loss after step ${k}`).toBeLessThanOrEqual(TOL);
      }
      // the evaluation saw the training step's updates without any sync
      expect((await evaluate.run(...probe)).item()).not.toBe(before);
      console.log(
        `[${target}] adapter: ${await adapterOf(target)}; ` +
          `shared train/eval: worst loss error vs reference ${worst.toExponential(2)}`,
      );
    });

    it('sync() brings parameters and optimizer state back to the host objects', async () => {
      const s = seedSetup(),
        r = seedSetup();
      const step = await compileSeed(s, target);
      const initial = snapshot(s);
      await trainSteps(s, step, 0, 10);
      await trainSteps(r, await compileSeed(r, 'reference'), 0, 10);
      // until sync() the device holds the latest values: a host read says so instead of returning stale ones
      expect(() => s.model.stateDict()).toThrow(/on the 'webgpu[^']*' target.*`await step\.sync\(\)` first/);
      expect(() => s.model.parameters()[0].data).toThrow(/Parameter\.data: .*`await step\.sync\(\)` first/);
      expect(s.model.parameters()[0].cell.data, 'the host copy is the initial one').toEqual(initial['0.weight']);
      await step.sync();
      const worst = expectClose(snapshot(s), snapshot(r), 'after sync');
      expect(s.optimizer.stateDict().state[0].step).toBe(10);
      console.log(
        `[${target}] adapter: ${await adapterOf(target)}; ` +
          `sync: worst state error vs reference ${worst.toExponential(2)}`,
      );
    });
  });
}

describe('state moving between targets', () => {
  it('reference -> webgpu -> webgpu:swiftshader -> reference equals training on reference alone', async () => {
    const s = seedSetup(),
      r = seedSetup();
    const steps = {
      reference: await compileSeed(s, 'reference'),
      webgpu: await compileSeed(s, 'webgpu'),
      'webgpu:swiftshader': await compileSeed(s, 'webgpu:swiftshader'),
    };
    const plan: [keyof typeof steps, number, number][] = [
      ['reference', 0, 5],
      ['webgpu', 5, 10],
      ['webgpu:swiftshader', 10, 15],
      ['reference', 15, 20],
    ];
    const losses: number[] = [];
    for (const [t, a, b] of plan) losses.push(...(await trainSteps(s, steps[t], a, b)));
    const refLosses = await trainSteps(r, await compileSeed(r, 'reference'), 0, 20);
    losses.forEach((l, k) => expect(rel(l, refLosses[k]), `loss at step ${k}`).toBeLessThanOrEqual(TOL));
    const worst = expectClose(snapshot(s), snapshot(r), 'after moving between targets');
    expect(s.optimizer.stateDict().state[0].step).toBe(20);
    console.log(
      `targets moved: adapters ${await adapterOf('webgpu')} and ${await adapterOf('webgpu:swiftshader')}; ` +
        `worst loss error ${Math.max(...losses.map((l, k) => rel(l, refLosses[k]))).toExponential(2)}, ` +
        `worst state error ${worst.toExponential(2)}`,
    );
  });

  it('webgpu -> reference -> webgpu: the device picks up host writes (loadStateDict) between runs', async () => {
    const s = seedSetup(),
      r = seedSetup();
    const [gpu, ref] = [await compileSeed(s, 'webgpu'), await compileSeed(s, 'reference')];
    const rStep = await compileSeed(r, 'reference');
    const init = s.model.stateDict();
    await trainSteps(s, gpu, 0, 6);
    await trainSteps(s, ref, 6, 8); // pulls the device's state, updates it on the host
    await trainSteps(r, rStep, 0, 8);
    s.model.loadStateDict(init); // host writes: the device's copy is now stale
    r.model.loadStateDict(init);
    const tail = await trainSteps(s, gpu, 8, 12);
    const want = await trainSteps(r, rStep, 8, 12);
    tail.forEach((l, k) => expect(rel(l, want[k]), `loss at step ${8 + k}`).toBeLessThanOrEqual(TOL));
    await gpu.sync();
    expectClose(snapshot(s), snapshot(r), 'after the round trip');
    console.log(`[webgpu] adapter: ${await adapterOf('webgpu')}; round trip with a host write ok`);
  });
});

describe('loading', () => {
  it("importing kiln does not load Dawn; the first 'webgpu' compile does", async () => {
    // a fresh process: which shared objects are loaded (process.report) before and after
    const entry = fileURLToPath(new URL('../compiler/index.ts', import.meta.url));
    const script = `
      const dawn = () => process.report.getReport().sharedObjects.filter((s) => /dawn\\.node$/.test(s));
      const kiln = await import(${JSON.stringify(entry)});
      const before = dawn();
      const step = await kiln.compile((x) => x.mul(2), {
        inputs: [{ shape: [2], dtype: 'float32' }],
        target: 'webgpu',
      });
      const out = Array.from((await step.run(Float32Array.of(1, 2))).data);
      console.log(JSON.stringify({ before, after: dawn(), out }));
      process.exit(0);`;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { timeout: 60_000 },
        (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
      ),
    );
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(r.before).toEqual([]);
    expect(r.after).toHaveLength(1);
    expect(r.out).toEqual([2, 4]);
  });
});

describe("llvmpipe's loop limit", () => {
  it('a mean and a variance of 4e6 values (a store between two reductions) run as one tree reduction', async () => {
    // one kernel: sum, the mean stored, then the squared deviations' sum; serial, one invocation would take
    // 266k loop trips, past llvmpipe's 65,535; as a tree reduction each of 64 threads takes a share
    const fn = (x: Tensor) => {
      const mean = x.mean();
      return [mean, x.sub(mean).pow(2).mean()];
    };
    const n = 4_000_000;
    const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i) + (i % 7) * 0.25);
    const inputs = [{ shape: [n], dtype: 'float32' as const }];
    const [gpu, ref] = [await compile(fn, { inputs, target: 'webgpu' }), await compile(fn, { inputs })];
    expect(gpu.stats().kernels).toBe(1);
    const [got, want] = [(await gpu.run(x)) as Tensor[], (await ref.run(x)) as Tensor[]];
    for (const k of [0, 1]) expect(rel(got[k].item(), want[k].item()), `output ${k}`).toBeLessThan(1e-5);
  }, 60_000);
});
