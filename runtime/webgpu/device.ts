// A kiln Device on WebGPU: owns the state arenas (one storage buffer per dtype, shared by every
// program loaded here) and hands out Executables. Depends only on the WebGPU API.
import type { Artifact, Device, Executable, HostArray, StateRange } from '../device.js';
import type { StorageDType } from '../manifest.js';
import { isWGSLArtifact } from './artifact.js';
import { ErrorTracker } from './errors.js';
import { WebGPUExecutable } from './executable.js';
import { bufferSource, describeAdapter, MAP_READ, openDevice, USAGE, type WebGPUDeviceOptions } from './gpu.js';

const STORAGE_USAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;

export class WebGPUDevice implements Device {
  readonly name: string;
  readonly errors: ErrorTracker;
  /** bumped whenever an arena is replaced, so executables rebuild their bind groups */
  arenaGeneration = 0;
  private arenas: Record<StorageDType, { buf: GPUBuffer; length: number } | null> = { f32: null, i32: null };

  constructor(
    readonly device: GPUDevice,
    readonly adapter: GPUAdapter,
    readonly backend: string,
    readonly debug: boolean,
    private readonly keepAlive: GPU, // Dawn's GPU object must outlive the device
  ) {
    this.name = `webgpu:${backend}:${describeAdapter(adapter.info)}`;
    this.errors = new ErrorTracker(device, debug);
  }

  /** Mesa's CPU driver (OpenGL ES backend), which has a loop-iteration limit per invocation */
  get isLlvmpipe(): boolean {
    return /llvmpipe/i.test(describeAdapter(this.adapter.info));
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }
  get info(): GPUAdapterInfo {
    return this.adapter.info;
  }

  /** creates a buffer after checking its size against the device's limits (named in the error) */
  createBuffer(label: string, bytes: number, usage: number): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16); // no zero-size bindings; 16 suits uniforms
    const L = this.device.limits;
    if (size > L.maxBufferSize) {
      throw new Error(
        `webgpu: buffer '${label}' needs ${bytes} bytes, above the device's maxBufferSize (${L.maxBufferSize})`,
      );
    }
    if (usage & USAGE.UNIFORM && size > L.maxUniformBufferBindingSize) {
      throw new Error(
        `webgpu: buffer '${label}' needs ${bytes} bytes, above the device's ` +
          `maxUniformBufferBindingSize (${L.maxUniformBufferBindingSize})`,
      );
    }
    return this.device.createBuffer({ label, size, usage });
  }

  /** the arena buffer of a dtype (created empty on first use) */
  arena(dtype: StorageDType): GPUBuffer {
    if (!this.arenas[dtype]) this.ensureState(dtype, 0);
    return this.arenas[dtype]!.buf;
  }

  stateLength(dtype: StorageDType): number {
    return this.arenas[dtype]?.length ?? 0;
  }

  ensureState(dtype: StorageDType, length: number): void {
    const cur = this.arenas[dtype];
    if (cur && cur.length >= length) return;
    // grow geometrically (bounded by the buffer limit) so many small loads do not copy each time; a kernel
    // binds only its windows of an arena past one binding's size (targets/wgsl/windows.ts)
    const cap = Math.floor(this.device.limits.maxBufferSize / 4);
    const want = cur ? Math.max(length, Math.min(cap, Math.ceil(cur.length * 1.5))) : length;
    const buf = this.createBuffer(`kiln state ${dtype}`, Math.max(want, length) * 4, STORAGE_USAGE);
    if (cur) {
      const enc = this.device.createCommandEncoder();
      enc.copyBufferToBuffer(cur.buf, 0, buf, 0, cur.length * 4);
      this.device.queue.submit([enc.finish()]);
      cur.buf.destroy(); // freed once the copy has run
    }
    this.arenas[dtype] = { buf, length: Math.max(want, length) };
    this.arenaGeneration++;
  }

  writeState(dtype: StorageDType, offset: number, data: HostArray): void {
    const want = dtype === 'f32' ? Float32Array : Int32Array;
    if (!(data instanceof want)) throw new TypeError(`writeState(${dtype}): expected a ${want.name}`);
    if (offset < 0 || offset + data.length > this.stateLength(dtype)) {
      throw new RangeError(
        `writeState(${dtype}): [${offset}, ${offset + data.length}) is outside the arena of ` +
          `${this.stateLength(dtype)} elements (call ensureState first)`,
      );
    }
    this.errors.check('writeState');
    if (data.length) this.device.queue.writeBuffer(this.arena(dtype), offset * 4, bufferSource(data));
  }

  async readState(dtype: StorageDType, offset: number, length: number): Promise<HostArray> {
    if (offset < 0 || length < 0 || offset + length > this.stateLength(dtype)) {
      throw new RangeError(
        `readState(${dtype}): [${offset}, ${offset + length}) is outside the arena of ` +
          `${this.stateLength(dtype)} elements`,
      );
    }
    const out = dtype === 'f32' ? new Float32Array(length) : new Int32Array(length);
    if (!length) return out;
    return this.errors.scoped('readState', async () => {
      const staging = this.device.createBuffer({
        label: 'kiln readState',
        size: length * 4,
        usage: USAGE.MAP_READ | USAGE.COPY_DST,
      });
      const enc = this.device.createCommandEncoder();
      enc.copyBufferToBuffer(this.arena(dtype), offset * 4, staging, 0, length * 4);
      this.device.queue.submit([enc.finish()]);
      await staging.mapAsync(MAP_READ);
      out.set(new (dtype === 'f32' ? Float32Array : Int32Array)(staging.getMappedRange()));
      staging.unmap();
      staging.destroy();
      this.errors.check('readState');
      return out;
    });
  }

  /** every range into one staging buffer (one copy command each), one submit, one map */
  async readStateInto(dtype: StorageDType, ranges: readonly StateRange[]): Promise<void> {
    const n = this.stateLength(dtype);
    let total = 0;
    for (const { offset, into } of ranges) {
      if (offset < 0 || offset + into.length > n || (dtype === 'f32') !== into instanceof Float32Array) {
        throw new RangeError(`readState(${dtype}): [${offset}, +${into.length}) is not in the arena of ${n} elements`);
      }
      total += into.length;
    }
    if (!total) return;
    // one staging buffer kept for every sync (a new one costs its zero-fill: 16 MB took 2-9 ms more on llvmpipe),
    // its reads one at a time (a buffer maps once)
    const read = this.syncChain.then(() =>
      this.errors.scoped('readState', async () => {
        const staging = this.syncStaging(total * 4);
        const enc = this.device.createCommandEncoder();
        let at = 0;
        for (const { offset, into } of ranges) {
          if (into.length) enc.copyBufferToBuffer(this.arena(dtype), offset * 4, staging, at * 4, into.length * 4);
          at += into.length;
        }
        this.device.queue.submit([enc.finish()]);
        await staging.mapAsync(MAP_READ);
        const all = new (dtype === 'f32' ? Float32Array : Int32Array)(staging.getMappedRange());
        at = 0;
        for (const { into } of ranges) {
          into.set(all.subarray(at, at + into.length));
          at += into.length;
        }
        staging.unmap();
        this.errors.check('readState');
      }),
    );
    this.syncChain = read.catch(() => undefined);
    return read;
  }

  private syncChain: Promise<unknown> = Promise.resolve();
  private staging: GPUBuffer | null = null;
  private syncStaging(bytes: number): GPUBuffer {
    if (this.staging && this.staging.size >= bytes) return this.staging;
    this.staging?.destroy();
    const usage = USAGE.MAP_READ | USAGE.COPY_DST;
    return (this.staging = this.device.createBuffer({ label: 'kiln sync', size: bytes, usage }));
  }

  async load(artifact: Artifact): Promise<Executable> {
    if (!isWGSLArtifact(artifact)) {
      throw new Error(`webgpu: cannot load a '${artifact.target}' artifact (expected target 'wgsl' with WGSL code)`);
    }
    return this.errors.scoped(`load`, () => WebGPUExecutable.create(this, artifact));
  }

  destroy(): void {
    for (const a of Object.values(this.arenas)) a?.buf.destroy();
    this.staging?.destroy();
    this.arenas = { f32: null, i32: null };
    this.device.destroy();
    void this.keepAlive;
  }
}

/** Opens a WebGPU device: Node (Dawn, default backend llvmpipe) or a browser's navigator.gpu. */
export async function createWebGPUDevice(opts: WebGPUDeviceOptions = {}): Promise<WebGPUDevice> {
  const o = await openDevice(opts);
  return new WebGPUDevice(o.device, o.adapter, o.backend, o.debug, o.gpu);
}
