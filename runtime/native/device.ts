// The native Device: runs libraries built by targets/llvm through koffi. It owns the state arenas
// (one Float32Array and one Int32Array, shared by every program loaded here) and each program's
// scratch. A run is one foreign call, kiln_run(b0, ..., bN), one pointer per manifest buffer; typed
// arrays are passed by address (no copy). Every buffer is checked to be at least the size the
// manifest declares before the call, so generated code never reaches outside its buffers.
// Depends only on koffi and node builtins: a shipped bundle needs no compiler.
import { existsSync } from 'node:fs';
import koffi, { type LibraryHandle } from 'koffi';
import { checkInputs, type Artifact, type Device, type Executable, type HostArray } from '../device.js';
import type { BufferDecl, Manifest, Placement, StorageDType } from '../manifest.js';

/** Artifact.code of target 'llvm' */
export interface NativeCode {
  /** path of the shared library */
  library: string;
  /** void entry(T0* b0, ..., TN* bN): one pointer per manifest buffer, in order */
  entry: string;
  hash: string;
  cpu: string;
}

const alloc = (d: StorageDType, n: number): HostArray => (d === 'f32' ? new Float32Array(n) : new Int32Array(n));
const count = (p: Placement): number => p.shape.reduce((a, b) => a * b, 1);
const libraries = new Map<string, LibraryHandle>(); // a library is loaded once per process

export function createNativeDevice(): Device {
  return new NativeDevice();
}

export class NativeDevice implements Device {
  readonly name = 'native';
  private arenas: Record<StorageDType, HostArray> = { f32: new Float32Array(0), i32: new Int32Array(0) };

  arena(dtype: StorageDType): HostArray { return this.arenas[dtype]; }

  ensureState(dtype: StorageDType, length: number): void {
    const old = this.arenas[dtype];
    if (old.length >= length) return;
    const grown = alloc(dtype, length);
    grown.set(old); // cells keep their offsets
    this.arenas[dtype] = grown;
  }

  writeState(dtype: StorageDType, offset: number, data: HostArray): void {
    const a = this.arenas[dtype];
    if ((dtype === 'f32') !== (data instanceof Float32Array)) {
      throw new TypeError(`writeState: ${dtype} arena written with a ${data.constructor.name}`);
    }
    if (offset < 0 || offset + data.length > a.length) {
      throw new RangeError(`writeState: [${offset}, ${offset + data.length}) is outside the ${dtype} state arena (${a.length} elements)`);
    }
    a.set(data, offset);
  }

  async readState(dtype: StorageDType, offset: number, length: number): Promise<HostArray> {
    const a = this.arenas[dtype];
    if (offset < 0 || offset + length > a.length) {
      throw new RangeError(`readState: [${offset}, ${offset + length}) is outside the ${dtype} state arena (${a.length} elements)`);
    }
    return a.slice(offset, offset + length);
  }

  async load(artifact: Artifact): Promise<Executable> {
    if (artifact.target !== 'llvm') throw new Error(`the native device runs 'llvm' artifacts, not '${artifact.target}'`);
    const code = artifact.code as NativeCode;
    if (!code || typeof code.library !== 'string' || typeof code.entry !== 'string') {
      throw new Error('native artifact: code must name a library and an entry point');
    }
    if (!existsSync(code.library)) throw new Error(`native artifact: library ${code.library} does not exist (was the cache cleared?)`);
    let lib = libraries.get(code.library);
    if (!lib) { lib = koffi.load(code.library); libraries.set(code.library, lib); }
    const m = artifact.manifest;
    const fn = lib.func(code.entry, 'void', m.buffers.map(() => 'void *'));
    for (const d of m.buffers) if (d.kind === 'state') this.ensureState(d.dtype, d.size);
    return new NativeExecutable(this, m, fn);
  }
}

class NativeExecutable implements Executable {
  /** per-program memories: scratch, outputs, and staging for inputs that cannot be passed as is */
  private own: (HostArray | undefined)[];
  private direct: (number | undefined)[]; // buffer → the input passed to it without copying

  constructor(private dev: NativeDevice, private m: Manifest, private fn: ReturnType<LibraryHandle['func']>) {
    this.direct = m.buffers.map((d, b) => {
      const ins = m.inputs.map((p, i) => [p, i] as const).filter(([p]) => p.buf === b);
      return d.kind === 'input' && ins.length === 1 && ins[0][0].offset === 0 && count(ins[0][0]) >= d.size ? ins[0][1] : undefined;
    });
    this.own = m.buffers.map((d, b) =>
      (d.kind === 'scratch' || d.kind === 'output' || (d.kind === 'input' && this.direct[b] === undefined) ? alloc(d.dtype, d.size) : undefined));
  }

  private buffer(b: number, inputs: readonly HostArray[], scalars: Float32Array): HostArray {
    const d = this.m.buffers[b];
    if (d.kind === 'state') return this.dev.arena(d.dtype);
    if (d.kind === 'scalars') return scalars;
    const i = this.direct[b];
    return i !== undefined ? inputs[i] : this.own[b]!;
  }

  async run(inputs: readonly HostArray[], scalars: Float32Array): Promise<HostArray[]> {
    const m = this.m;
    checkInputs(m, inputs);
    if (!(scalars instanceof Float32Array)) throw new TypeError(`scalars: expected a Float32Array, got ${(scalars as object)?.constructor?.name}`);
    // every buffer must hold what the program may touch: checked before anything is written
    const bufs = m.buffers.map((d: BufferDecl, b) => {
      const a = this.buffer(b, inputs, scalars);
      if (a.length < d.size) throw new RangeError(`buffer ${b} (${d.name}, ${d.kind}) has ${a.length} elements; the program needs ${d.size}`);
      if ((d.dtype === 'f32') !== (a instanceof Float32Array)) throw new TypeError(`buffer ${b} (${d.name}) must be ${d.dtype}`);
      return a;
    });
    for (const p of [...m.inputs, ...m.outputs]) {
      if (p.offset < 0 || p.offset + count(p) > bufs[p.buf].length) throw new RangeError(`placement [${p.offset}, +${count(p)}) outside buffer ${p.buf}`);
    }
    m.inputs.forEach((p, i) => {
      if (this.direct[p.buf] !== i) bufs[p.buf].set(inputs[i], p.offset);
    });
    this.fn(...bufs);
    return m.outputs.map((p) => bufs[p.buf].slice(p.offset, p.offset + count(p)));
  }
}
