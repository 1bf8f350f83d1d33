// A loaded WGSL program: pipelines created once, per-program buffers (scratch, inputs, outputs,
// scalars), bind groups rebuilt only when a state arena was replaced. A run is one command
// encoder, one compute pass with every dispatch in order, one submit, one readback of the outputs.
import { checkInputs, type Executable, type HostArray } from '../device.js';
import { HostStep } from '../step.js';
import { copyInput } from '../typed-array.js';
import { guardHolds, numel, type Manifest, type StorageDType } from '../manifest.js';
import {
  LLVMPIPE_LOOP_LIMIT,
  shaderKey,
  type WGSLArtifact,
  type WGSLBinding,
  type WGSLKernel,
  type WGSLRequirements,
} from './artifact.js';
import { bufferSource, MAP_READ, USAGE } from './gpu.js';
import { compilationErrors, type ErrorTracker } from './errors.js';
import { WebGPUCollectives } from './collectives.js';

/** throws naming the first limit the program needs beyond what the device has */
export function checkRequirements(req: WGSLRequirements, limits: GPUSupportedLimits, what = 'program'): void {
  for (const [k, need] of Object.entries(req) as [keyof WGSLRequirements, number][]) {
    const have = (limits as unknown as Record<string, number>)[k];
    if (typeof have === 'number' && need > have) {
      const hint =
        k === 'maxStorageBuffersPerShaderStage'
          ? ' (a kernel binds too many distinct buffers; fuse less or place values in fewer buffers)'
          : '';
      throw new Error(`webgpu: ${what} needs ${k} = ${need}, the device allows ${have}${hint}`);
    }
  }
}

interface Compiled {
  k: WGSLKernel;
  pipeline: GPUComputePipeline;
  group: GPUBindGroup | null;
  /** the uniform holding the kernel's lifted constants (WGSLKernel.consts), if any */
  consts: GPUBuffer | null;
}

/** a uniform of the kernel's lifted constants, four to a vec4<i32>, written once */
function constsBuffer(dev: ExecutableDevice, k: WGSLKernel): GPUBuffer | null {
  if (!k.consts?.length) return null;
  const data = new Int32Array(Math.ceil(k.consts.length / 4) * 4);
  data.set(k.consts);
  const buf = dev.createBuffer(`kiln consts ${k.name}`, data.byteLength, USAGE.UNIFORM | USAGE.COPY_DST);
  dev.device.queue.writeBuffer(buf, 0, data);
  return buf;
}

/** what an executable uses of its device (device.ts's WebGPUDevice, which creates executables) */
interface ExecutableDevice {
  readonly device: GPUDevice;
  readonly debug: boolean;
  readonly errors: ErrorTracker;
  readonly isLlvmpipe: boolean;
  readonly limits: GPUSupportedLimits;
  readonly arenaGeneration: number;
  arena(dtype: StorageDType): GPUBuffer;
  ensureState(dtype: StorageDType, length: number): void;
  createBuffer(label: string, bytes: number, usage: number): GPUBuffer;
}

export class WebGPUExecutable implements Executable {
  private generation = -1;
  private chain: Promise<unknown> = Promise.resolve();
  /** the host program for runs given no scalars: its vars persist from step to step */
  private readonly host: HostStep;
  private readonly collectives?: WebGPUCollectives;

  private constructor(
    private readonly dev: ExecutableDevice,
    readonly manifest: Manifest,
    private readonly kernels: Compiled[],
    private readonly own: (GPUBuffer | null)[], // per manifest buffer; null = a state arena
    private readonly scalars: GPUBuffer,
    private readonly staging: GPUBuffer | null,
    private readonly outOffsets: number[], // byte offset of each output in `staging`
  ) {
    this.host = new HostStep(manifest.host);
    this.host.vars.set(this.host.init);
    if (manifest.collectives?.length)
      this.collectives = new WebGPUCollectives(dev.device, manifest, (b) => this.buffer(b));
  }

  static async create(dev: ExecutableDevice, a: WGSLArtifact): Promise<WebGPUExecutable> {
    const m = a.manifest;
    const declared = a.code.bufferSizes,
      sizes = m.buffers.map((b) => b.size);
    if (!Array.isArray(declared) || declared.length !== sizes.length || declared.some((n, i) => n !== sizes[i])) {
      throw new Error(
        `webgpu: the kernels were generated for buffer sizes [${declared}], the manifest says ` +
          `[${sizes.join(', ')}]: refusing to run them (the manifest does not belong to this code)`,
      );
    }
    checkRequirements(a.code.requirements, dev.limits);
    if (dev.isLlvmpipe) {
      const k = a.code.kernels.find((k) => (k.loopTrips ?? 0) > LLVMPIPE_LOOP_LIMIT);
      if (k) {
        throw new Error(
          `webgpu: kernel ${k.name} takes up to ${k.loopTrips} loop iterations per invocation; ` +
            `Mesa llvmpipe stops every invocation after ${LLVMPIPE_LOOP_LIMIT} (its loop limiter) ` +
            'and would return wrong results',
        );
      }
    }
    const gpu = dev.device;
    const own = m.buffers.map((b, i) => {
      if (b.kind === 'state') {
        dev.ensureState(b.dtype, b.size);
        return null;
      }
      if (b.kind === 'scalars') return null; // served by the scalars buffer below
      return dev.createBuffer(`kiln ${b.kind} ${b.name}`, b.size * 4, USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST);
    });
    const nScalars = Math.max(m.host.scalarCount, ...m.buffers.filter((b) => b.kind === 'scalars').map((b) => b.size));
    const scalars = dev.createBuffer('kiln scalars', nScalars * 4, USAGE.UNIFORM | USAGE.STORAGE | USAGE.COPY_DST);
    const outOffsets: number[] = [];
    let bytes = 0;
    for (const p of m.outputs) {
      outOffsets.push(bytes);
      bytes += numel(p.shape) * 4;
    }
    const staging = bytes
      ? gpu.createBuffer({ label: 'kiln outputs', size: bytes, usage: USAGE.MAP_READ | USAGE.COPY_DST })
      : null;

    // Each kernel's module and pipeline inside its own validation scope, pushed and popped
    // synchronously so scopes never interleave: a bad shader fails this load, naming the kernel,
    // instead of surfacing as a stray uncaptured error at some later call.
    // kernels of one shader text (their constants lifted into `consts`: a transformer's blocks) share one module
    // and pipeline: the driver compiles each distinct shader once (llvmpipe compiles at the first dispatch)
    const shared = new Map<
      string,
      { module: GPUShaderModule; pipeline: Promise<GPUComputePipeline>; scope: Promise<GPUError | null> }
    >();
    const pending = a.code.kernels.map((k) => {
      const text = shaderKey(k);
      const hit = shared.get(text);
      if (hit) return { k, ...hit };
      gpu.pushErrorScope('validation');
      const module = gpu.createShaderModule({ label: k.name, code: k.wgsl });
      const pipeline = gpu.createComputePipelineAsync({
        label: k.name,
        layout: 'auto',
        compute: { module, entryPoint: k.entryPoint },
      });
      pipeline.catch(() => undefined); // awaited below, after the scope
      const entry = { module, pipeline, scope: gpu.popErrorScope() };
      shared.set(text, entry);
      return { k, ...entry };
    });
    const kernels: Compiled[] = [];
    for (const { k, module, pipeline, scope } of pending) {
      const err = await scope;
      const compile = err || dev.debug ? await compilationErrors(module, k.wgsl) : null;
      if (err || compile) {
        throw new Error(
          `webgpu: kernel ${k.name}: ${compile ? `WGSL does not compile:\n${compile}` : err!.message}` +
            `${dev.debug ? `\n--- WGSL ---\n${k.wgsl}` : ''}`,
        );
      }
      try {
        kernels.push({ k, pipeline: await pipeline, group: null, consts: constsBuffer(dev, k) });
      } catch (e) {
        throw new Error(`webgpu: kernel ${k.name}: pipeline creation failed: ${(e as Error).message}`, { cause: e });
      }
    }
    return new WebGPUExecutable(dev, m, kernels, own, scalars, staging, outOffsets);
  }

  private buffer(i: number): GPUBuffer {
    const b = this.manifest.buffers[i];
    if (!b) throw new Error(`webgpu: no buffer ${i} in the manifest`);
    if (b.kind === 'state') return this.dev.arena(b.dtype);
    if (b.kind === 'scalars') return this.scalars;
    return this.own[i]!;
  }

  /**
   * what a binding binds: a window's range, else the buffer from 0 up to what this program declared (a state
   * arena shared with other programs may be larger than one binding may be)
   */
  private resource(b: WGSLBinding, c: Compiled): GPUBufferBinding {
    if (b.buf === 'scalars') return { buffer: this.scalars };
    if (b.buf === 'consts') {
      if (!c.consts) throw new Error(`webgpu: kernel ${c.k.name} binds constants it does not carry`);
      return { buffer: c.consts };
    }
    const buffer = this.buffer(b.buf);
    if (b.size !== undefined) return { buffer, offset: b.offset ?? 0, size: b.size };
    const declared = 4 * Math.max(1, this.manifest.buffers[b.buf].size);
    return { buffer, size: Math.min(buffer.size, Math.ceil(declared / 16) * 16) };
  }

  /** (re)builds bind groups: at the first run and after any state arena grew */
  private bindGroups(): void {
    if (this.generation === this.dev.arenaGeneration) return;
    for (const c of this.kernels) {
      c.group = this.dev.device.createBindGroup({
        label: c.k.name,
        layout: c.pipeline.getBindGroupLayout(0),
        entries: c.k.bindings.map((b) => ({ binding: b.binding, resource: this.resource(b, c) })),
      });
    }
    this.generation = this.dev.arenaGeneration;
  }

  run(inputs: readonly HostArray[], scalars?: Float32Array, inputsOwned = false): Promise<HostArray[]> {
    // Inputs and scalars are taken now, in call order, as private unshared copies: a caller may
    // reuse its arrays before an earlier run reaches the queue, and writeBuffer refuses shared memory.
    // Owned inputs already are such copies (the step driver's).
    let taken: readonly HostArray[], s: Float32Array | undefined;
    try {
      checkInputs(this.manifest, inputs);
      taken = inputsOwned ? inputs : inputs.map(copyInput);
      s = scalars && (copyInput(scalars) as Float32Array);
    } catch (e) {
      return Promise.reject(e);
    }
    // runs are serialized: they share the staging buffer and the scalar uniform
    const r = this.chain.then(() => this.dev.errors.scoped('run', () => this.runNow(taken, s)));
    this.chain = r.catch(() => undefined);
    return r;
  }

  /** runs the host program (vars persist across steps) and returns this step's scalars */
  stepScalars(): Float32Array {
    const h = this.host;
    h.run(h.vars, h.scalars);
    return h.scalars.slice(0, this.manifest.host.scalarCount);
  }

  private async runNow(inputs: readonly HostArray[], scalars: Float32Array | undefined): Promise<HostArray[]> {
    const m = this.manifest;
    const gpu = this.dev.device;
    const s = scalars ?? this.stepScalars();
    if (s.length < m.host.scalarCount) throw new RangeError(`expected ${m.host.scalarCount} scalars, got ${s.length}`);
    m.inputs.forEach((p, i) => {
      if (inputs[i].length) gpu.queue.writeBuffer(this.buffer(p.buf), p.offset * 4, bufferSource(inputs[i]));
    });
    if (s.length) gpu.queue.writeBuffer(this.scalars, 0, bufferSource(s), 0, Math.min(s.length, this.scalars.size / 4));
    this.bindGroups();

    let enc = gpu.createCommandEncoder({ label: 'kiln run' });
    let pass = enc.beginComputePass();
    const col = this.collectives;
    for (const [i, c] of this.kernels.entries()) {
      if (col?.has(i)) {
        pass.end();
        enc = await col.at(i, enc);
        pass = enc.beginComputePass();
      }
      const [x, y] = c.k.workgroups;
      if (x === 0 || y === 0) continue;
      if (!guardHolds(m.kernels[i]?.when, s)) continue; // the scalars are on the host: skip the launch
      pass.setPipeline(c.pipeline);
      pass.setBindGroup(0, c.group!);
      pass.dispatchWorkgroups(x, y);
    }
    pass.end();
    if (col?.has(this.kernels.length)) enc = await col.at(this.kernels.length, enc);
    m.outputs.forEach((p, i) => {
      const n = numel(p.shape);
      if (n) enc.copyBufferToBuffer(this.buffer(p.buf), p.offset * 4, this.staging!, this.outOffsets[i], n * 4);
    });
    gpu.queue.submit([enc.finish()]);

    // every output keeps its place, an empty one as an empty array (no staging when all are)
    if (this.staging) await this.staging.mapAsync(MAP_READ);
    else await gpu.queue.onSubmittedWorkDone();
    const all = this.staging ? this.staging.getMappedRange() : new ArrayBuffer(0);
    const outs = m.outputs.map((p, i) => {
      const n = numel(p.shape);
      const T = p.dtype === 'float32' ? Float32Array : Int32Array;
      return new T(all.slice(this.outOffsets[i], this.outOffsets[i] + n * 4));
    });
    this.staging?.unmap();
    this.dev.errors.check('run');
    return outs;
  }
}
