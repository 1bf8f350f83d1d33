// Inputs are what their internal slots say, not what their properties claim: a Float32Array whose
// `length` was redefined (own property, subclass getter), a DataView, another typed array or a
// detached buffer is refused with an error naming the input, on every target and in the runtime
// executables a bundle drives, so no kernel reads past an array. Shared memory is accepted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { availableTargets, compile, manualSeed, nn, optim, type Tensor } from 'kiln';
import type { Executable } from '../runtime/device.js';
import { createNativeDevice } from '../runtime/native/index.js';
import { createWebGPUDevice } from '../runtime/webgpu/index.js';
import { compileNative } from '../targets/llvm/index.js';
import { buildWGSL } from '../targets/wgsl/index.js';
import { kernel, ld, mul, c, program, store, v } from './llvm-helpers.js';

const TARGETS = ['reference', 'native', 'webgpu'].filter((t) => availableTargets().includes(t));
const root = mkdtempSync(join(tmpdir(), 'kiln-inputs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

class LyingLength extends Float32Array {
  override get length(): number {
    return 8;
  }
}

/** arrays that claim (or seem) to be a Float32Array of 8 elements, and the error each must raise */
function impostors(): [string, unknown, RegExp][] {
  const own = new Float32Array(1);
  Object.defineProperty(own, 'length', { value: 8 });
  const huge = new Float32Array(1);
  Object.defineProperty(huge, 'length', { value: 64 << 20 });
  const detached = new Float32Array(8);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  return [
    ['own length property', own, /input 0.*1 elements|input 0.*got 1\b/],
    ['claimed 64M length', huge, /input 0.*1 elements|input 0.*got 1\b/],
    ['subclass length getter', new LyingLength(1), /input 0.*1 elements|input 0.*got 1\b/],
    ['DataView', new DataView(new ArrayBuffer(32)), /input 0.*Float32Array.*got a DataView/],
    ['Float64Array', new Float64Array(8), /input 0.*Float32Array.*got Float64Array/],
    ['detached buffer', detached, /input 0.*detached/],
  ];
}

const shared = (n: number) => new Float32Array(new SharedArrayBuffer(4 * n));

describe.each(TARGETS)('compiled run inputs on %s', (target) => {
  it('refuses impostor arrays, naming the input, and changes no state; accepts shared memory', async () => {
    manualSeed(0);
    const model = new nn.Linear(4, 2);
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const step = await compile(
      (x: Tensor) => {
        const loss = model.forward(x).sum();
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss;
      },
      { inputs: [{ shape: [2, 4], dtype: 'float32' }], target },
    );
    await step.sync();
    const before = model.stateDict();
    for (const [what, x, error] of impostors()) {
      await expect(step.run(x as Float32Array), what).rejects.toThrow(error);
    }
    await step.sync();
    expect(model.stateDict(), 'no state changed').toEqual(before);

    const plain = Float32Array.from({ length: 8 }, (_, i) => i / 8 - 0.3);
    const sab = shared(8);
    sab.set(plain);
    const fromShared = (await step.run(sab)).item();
    await step.sync();
    model.loadStateDict(before);
    expect((await step.run(plain)).item()).toBe(fromShared);
  });
});

describe('runtime executables (the bundle path)', () => {
  // out[i] = 2 * x[i] over 8 elements
  const prog = program(
    [
      { name: 'x', kind: 'input', dtype: 'f32', size: 8 },
      { name: 'o', kind: 'output', dtype: 'f32', size: 8 },
    ],
    [kernel('dbl', [8], [store(1, v('g0'), mul(c(2), ld(0, v('g0'))))])],
    {
      inputs: [{ buf: 0, offset: 0, shape: [8], dtype: 'float32' }],
      outputs: [{ buf: 1, offset: 0, shape: [8], dtype: 'float32' }],
    },
  );
  const check = async (exe: Executable) => {
    const none = new Float32Array(0);
    for (const [what, x, error] of impostors()) {
      await expect(exe.run([x as Float32Array], none), what).rejects.toThrow(error);
      if (exe.runSync) expect(() => exe.runSync!([x as Float32Array], none), what).toThrow(error);
    }
    const sab = shared(8);
    sab.set(Float32Array.from({ length: 8 }, (_, i) => i));
    expect(Array.from((await exe.run([sab], none))[0])).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
  };

  it.runIf(TARGETS.includes('native'))('native: refused before the foreign call; shared memory accepted', async () => {
    await check(await createNativeDevice().load(compileNative(prog, { cacheDir: join(root, 'cache') })));
  });

  it('webgpu: refused before anything is queued; shared memory accepted (copied)', async () => {
    const dev = await createWebGPUDevice();
    try {
      await check(await dev.load(buildWGSL(prog)));
    } finally {
      dev.destroy();
    }
  });
});
