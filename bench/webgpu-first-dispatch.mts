// Where a WebGPU first step goes on llvmpipe, kernel by kernel: the char GPT's training step
// (examples/char-gpt-model.ts, D128 T64 4 blocks by default) rendered to WGSL, then every kernel's module,
// pipeline and first dispatch alone, timed (llvmpipe compiles a shader at its first dispatch). Cache off:
//   MESA_SHADER_CACHE_DISABLE=true npx tsx --conditions=kiln-source bench/webgpu-first-dispatch.mts   # env D T TOP
// Kernels whose shader text another kernel already had are marked `shared`: the runtime compiles those once.
import { compile, manualSeed } from '../compiler/index.js';
import { makeOptimizer, trainStepFn, Gpt } from '../examples/char-gpt-model.js';
import { GPT_TRAIN } from './models-common.mjs';
import { schedule } from '../compiler/kernel/schedule.js';
import { buildWGSL } from '../targets/wgsl/index.js';
import { createWebGPUDevice } from '../runtime/webgpu/index.js';
import { shaderKey } from '../runtime/webgpu/artifact.js';

const D = Number(process.env.D ?? 128),
  T = Number(process.env.T ?? 64),
  TOP = Number(process.env.TOP ?? 15);
manualSeed(1337);
const model = new Gpt({ vocabSize: 65, blockSize: T, nEmbd: D, nHead: 4, nLayer: 4, dropout: 0.1, tied: true });
const opt = makeOptimizer(model, GPT_TRAIN);
const spec = { shape: [16, T], dtype: 'int32' as const };
const step = await compile(trainStepFn(model, opt, GPT_TRAIN), { inputs: [spec, spec], target: 'reference' });
const dev = await createWebGPUDevice();
const gpu = dev.device;
const kp = schedule(step.programs[0].graph, undefined, {
  splitBorders: false,
  maxStorageBuffers: gpu.limits.maxStorageBuffersPerShaderStage,
});
const art = buildWGSL(kp);
const STORAGE = 0x80,
  UNIFORM = 0x40,
  COPY_DST = 0x8;
const bufs = kp.buffers.map((b) => gpu.createBuffer({ size: Math.max(16, b.size * 4), usage: STORAGE | COPY_DST }));
const scalars = gpu.createBuffer({ size: 4096, usage: UNIFORM | STORAGE | COPY_DST });
const seen = new Set<string>();
const rows: { ms: number; name: string; bytes: number; shared: boolean }[] = [];
for (const k of art.code.kernels) {
  const text = shaderKey(k);
  const t0 = performance.now();
  const module = gpu.createShaderModule({ code: k.wgsl });
  const pipe = await gpu.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: k.entryPoint } });
  const consts = k.consts?.length
    ? gpu.createBuffer({ size: Math.ceil(k.consts.length / 4) * 16, usage: UNIFORM | COPY_DST })
    : null;
  const entries = k.bindings.map((b) => ({
    binding: b.binding,
    resource: {
      buffer: b.buf === 'scalars' ? scalars : b.buf === 'consts' ? consts! : bufs[b.buf],
      ...(b.size ? { offset: b.offset, size: b.size } : {}),
    },
  }));
  const group = gpu.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
  const enc = gpu.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipe);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(...k.workgroups);
  pass.end();
  gpu.queue.submit([enc.finish()]);
  await gpu.queue.onSubmittedWorkDone();
  rows.push({ ms: performance.now() - t0, name: k.name, bytes: k.wgsl.length, shared: seen.has(text) });
  seen.add(text);
}
const own = rows.filter((r) => !r.shared);
const sum = (rs: typeof rows) => rs.reduce((a, r) => a + r.ms, 0).toFixed(0);
console.log(
  `char GPT D${D} T${T}: ${rows.length} kernels, ${own.length} distinct shaders; first dispatches ${sum(rows)} ms, ` +
    `of which the distinct shaders' ${sum(own)} ms (what a first step compiles)`,
);
for (const r of [...rows].sort((a, b) => b.ms - a.ms).slice(0, TOP)) {
  console.log(
    `${r.ms.toFixed(0).padStart(6)} ms  ${r.name.padEnd(24)} ${r.bytes} B of WGSL${r.shared ? '  shared' : ''}`,
  );
}
dev.destroy();
