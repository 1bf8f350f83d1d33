// A webgpu bundle is built without knowing its adapter, so every kernel must fit the binding
// limit all WebGPU devices offer (8 storage buffers): a program with 16 inputs shares its input
// buffers, and the bundle loads and runs on llvmpipe (limit 16) and SwiftShader (limit 12).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { defineProgram, nn, type Tensor } from '../compiler/index.js';
import { buildBundle } from '../compiler/build/bundle.js';
import { Progress } from '../compiler/cli/report.js';
import { loadBundle, type TensorValue } from '../runtime/bundle/index.js';

const M = 16;
const out = mkdtempSync(path.join(tmpdir(), 'kiln-limits-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const model = new nn.Linear(3, 3);
model.bias!.data.set([1, 2, 3]);
const def = defineProgram({
  name: 'kiln-limits',
  model,
  functions: {
    weighted: {
      inputs: Array.from({ length: M }, () => ({ shape: [3], dtype: 'float32' as const })),
      fn: (...xs: Tensor[]) => xs.reduce((a, b, i) => a.add(b.mul(i))).add(model.bias!),
    },
  },
});
const xs = Array.from({ length: M }, (_, i) => Float32Array.from([i, 1, -i]));
const want = [1, 2, 3].map((b, k) => b + xs.reduce((a, x, i) => a + (i ? i : 1) * x[k], 0));

describe('webgpu bundle with 16 inputs', () => {
  it('binds at most 8 storage buffers per kernel', async () => {
    await buildBundle(def, { targets: ['webgpu'], out, progress: new Progress(true) });
    const m = JSON.parse(readFileSync(path.join(out, 'kiln-bundle.json'), 'utf8'));
    const code = JSON.parse(readFileSync(path.join(out, m.functions[0].targets.webgpu.code.file), 'utf8'));
    expect(code.requirements.maxStorageBuffersPerShaderStage).toBeLessThanOrEqual(8);
  });

  it.each(['llvmpipe', 'swiftshader'])('runs on %s', async (backend) => {
    const { manifestSha256 } = JSON.parse(readFileSync(path.join(out, 'package.json'), 'utf8')).kiln; // the root hash
    const program = await loadBundle(pathToFileURL(out + path.sep), { target: 'webgpu', backend }, { manifestSha256 });
    const r = (await program.functions.weighted.run(...xs)) as TensorValue;
    expect(Array.from(r.data)).toEqual(want);
    program.destroy();
  });
});
