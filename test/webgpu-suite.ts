// The WebGPU test suite, run once per adapter by webgpu-llvmpipe.test.ts / webgpu-swiftshader.test.ts.
// No adapter is a failure (with the install hint), never a skip: CI must provide the drivers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHostProgram } from '../runtime/host.js';
import { createWebGPUDevice, type NodeBackend, type WebGPUDevice } from '../runtime/webgpu/index.js';
import { buildWGSL, type WGSLOptions } from '../targets/wgsl/index.js';
import { add } from './webgpu-extra.js';
import { mismatch, oracle } from './webgpu-cases.js';
import { cases, type Case } from './webgpu-programs.js';

export async function runCase(dev: WebGPUDevice, t: Case, opts: WGSLOptions = {}): Promise<void> {
  const art = buildWGSL(t.prog, opts);
  const exe = await dev.load(art);
  const stateBuf = t.prog.buffers.findIndex((b) => b.kind === 'state');
  let state = t.state;
  if (state) {
    dev.ensureState('f32', state.length);
    dev.writeState('f32', 0, state);
  }
  const vars = Float64Array.from(t.prog.host.vars, (x) => x.init);
  for (let step = 0; step < (t.steps ?? 1); step++) {
    const scalars = new Float32Array(t.prog.host.scalarCount);
    runHostProgram(t.prog.host, vars, scalars);
    const want = oracle(t.prog, t.inputs, scalars, state ? { f32: state } : {});
    const got = await exe.run(t.inputs, scalars);
    want.outputs.forEach((w, i) => {
      expect(got[i].constructor).toBe(w.constructor);
      const bad = mismatch(got[i], w);
      expect(bad, `${t.name} step ${step} output ${i}: ${bad}`).toBeNull();
    });
    if (stateBuf >= 0) {
      state = want.state.f32 as Float32Array;
      const gotState = await dev.readState('f32', 0, state.length);
      const bad = mismatch(gotState, state);
      expect(bad, `${t.name} step ${step} state: ${bad}`).toBeNull();
    }
  }
}

export function webgpuSuite(backend: NodeBackend, { large }: { large: boolean }): void {
  describe(`webgpu on ${backend}`, () => {
    let dev: WebGPUDevice;
    beforeAll(async () => {
      try {
        dev = await createWebGPUDevice({ backend });
      } catch (e) {
        throw new Error(`no WebGPU device for backend '${backend}': ${(e as Error).message}`);
      }
      const L = dev.limits;
      console.log(
        `[webgpu ${backend}] adapter: ${dev.name}; ` +
          `maxStorageBuffersPerShaderStage=${L.maxStorageBuffersPerShaderStage}, ` +
          `maxComputeInvocationsPerWorkgroup=${L.maxComputeInvocationsPerWorkgroup}, ` +
          `maxStorageBufferBindingSize=${L.maxStorageBufferBindingSize}, maxBufferSize=${L.maxBufferSize}`,
      );
    });
    afterAll(() => dev?.destroy());

    for (const t of cases()) {
      if (t.large && !large) continue;
      it(t.name, async () => {
        await runCase(dev, t);
      });
      it(`${t.name} (serial: no tree reductions, no tiles)`, async () => {
        await runCase(dev, t, { workgroupReduce: false, tile: false });
      });
    }
    add(() => dev, backend);
  });
}
