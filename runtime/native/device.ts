// The native Device: runs libraries built by targets/llvm through koffi. It owns the state arenas
// (one Float32Array and one Int32Array, shared by every program loaded here) and each program's
// scratch. A run is one foreign call, kiln_run(b0, ..., bN), one pointer per manifest buffer; typed
// arrays are passed by address (no copy). Every buffer is checked to be at least the size the
// manifest declares before the call, so generated code never reaches outside its buffers.
// Depends only on koffi and node builtins: a shipped bundle needs no compiler.
import { existsSync } from 'node:fs';
import koffi, { type LibraryHandle } from 'koffi';
import {
  checkInputs,
  type Artifact,
  type Device,
  type Executable,
  type HostArray,
  type StateRange,
} from '../device.js';
import { numel, type Manifest, type Placement, type StorageDType } from '../manifest.js';
import { arrayKind, trueLength, typedArrayKind } from '../typed-array.js';
import { NATIVE_ENTRY, NATIVE_SIZES } from './entry.js';
import { NativeCollectives } from './collectives.js';

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
const count = (p: Placement): number => numel(p.shape);
const libraries = new Map<string, LibraryHandle>(); // a library is loaded once per process

export function createNativeDevice(): Device {
  return new NativeDevice();
}

export class NativeDevice implements Device {
  readonly name = 'native';
  /** @internal read by this device's executables on every run */
  readonly arenas: Record<StorageDType, HostArray> = { f32: new Float32Array(0), i32: new Int32Array(0) };

  arena(dtype: StorageDType): HostArray {
    return this.arenas[dtype];
  }

  ensureState(dtype: StorageDType, length: number): void {
    const old = this.arenas[dtype];
    if (old.length >= length) return;
    const grown = alloc(dtype, length);
    grown.set(old); // cells keep their offsets
    this.arenas[dtype] = grown;
  }

  writeState(dtype: StorageDType, offset: number, data: HostArray): void {
    const a = this.arenas[dtype];
    if ((dtype === 'f32') !== data instanceof Float32Array) {
      throw new TypeError(`writeState: ${dtype} arena written with a ${data.constructor.name}`);
    }
    if (offset < 0 || offset + data.length > a.length) {
      throw new RangeError(
        `writeState: [${offset}, ${offset + data.length}) is outside the ${dtype} state arena (${a.length} elements)`,
      );
    }
    a.set(data, offset);
  }

  async readState(dtype: StorageDType, offset: number, length: number): Promise<HostArray> {
    return this.readStateSync(dtype, offset, length);
  }

  async readStateInto(dtype: StorageDType, ranges: readonly StateRange[]): Promise<void> {
    const a = this.arenas[dtype];
    for (const { offset, into } of ranges) {
      if (offset < 0 || offset + into.length > a.length || (dtype === 'f32') !== into instanceof Float32Array) {
        throw new RangeError(`readState: [${offset}, +${into.length}) is not in the ${dtype} state arena`);
      }
    }
    for (const { offset, into } of ranges) into.set(a.subarray(offset, offset + into.length));
  }

  readStateSync(dtype: StorageDType, offset: number, length: number): HostArray {
    const a = this.arenas[dtype];
    if (offset < 0 || offset + length > a.length) {
      throw new RangeError(
        `readState: [${offset}, ${offset + length}) is outside the ${dtype} state arena (${a.length} elements)`,
      );
    }
    return a.slice(offset, offset + length);
  }

  async load(artifact: Artifact): Promise<Executable> {
    if (artifact.target !== 'llvm') {
      throw new Error(`the native device runs 'llvm' artifacts, not '${artifact.target}'`);
    }
    const code = artifact.code as NativeCode;
    if (!code || typeof code.library !== 'string' || typeof code.entry !== 'string') {
      throw new Error('native artifact: code must name a library and an entry point');
    }
    if (code.entry !== NATIVE_ENTRY) {
      throw new Error(
        `native artifact: entry ${JSON.stringify(code.entry)} is not kiln's entry point ` +
          `'${NATIVE_ENTRY}': refusing to call into it`,
      );
    }
    if (!existsSync(code.library)) {
      throw new Error(`native artifact: library ${code.library} does not exist (was the cache cleared?)`);
    }
    let lib = libraries.get(code.library);
    if (!lib) {
      lib = koffi.load(code.library);
      libraries.set(code.library, lib);
    }
    const m = artifact.manifest;
    checkDeclaredSizes(lib, code.library, m);
    const fn = lib.func(
      code.entry,
      'void',
      m.buffers.map(() => 'void *'),
    );
    for (const d of m.buffers) if (d.kind === 'state') this.ensureState(d.dtype, d.size);
    const collectives = m.collectives?.length
      ? (bufs: () => HostArray[]) => new NativeCollectives(lib!, code.library, m, bufs)
      : undefined;
    return new NativeExecutable(this, m, fn, collectives);
  }
}

/** throws unless the library's kiln_sizes equals the manifest's buffer sizes (runtime/native/entry.ts) */
function checkDeclaredSizes(lib: LibraryHandle, library: string, m: Manifest): void {
  let declared: number[];
  try {
    const table = lib.symbol(NATIVE_SIZES);
    const count = Number(koffi.decode(table, 'int64_t'));
    if (!Number.isSafeInteger(count) || count < 0 || count > 1 << 16) throw new Error(`buffer count ${count}`);
    declared = count ? Array.from(koffi.decode(table, 8, 'int64_t', count) as ArrayLike<number | bigint>, Number) : [];
  } catch (e) {
    throw new Error(
      `native artifact: ${library} declares no buffer sizes (${NATIVE_SIZES}: ${(e as Error).message}): ` +
        'it was not built by this kiln; refusing to run it',
    );
  }
  const want = m.buffers.map((d) => d.size);
  if (declared.length !== want.length || declared.some((n, i) => n !== want[i])) {
    throw new Error(
      `native artifact: ${library} was compiled for buffer sizes [${declared.join(', ')}], ` +
        `the manifest says [${want.join(', ')}]: refusing to run it ` +
        '(the manifest does not belong to this library)',
    );
  }
}

/** fn(b[0], ..., b[n-1]) without spreading (a spread call costs more than the kernels of a small step) */
function makeCaller(n: number): (fn: (...a: HostArray[]) => void, b: HostArray[]) => void {
  try {
    const args = Array.from({ length: n }, (_, i) => `b[${i}]`).join(', ');
    return new Function('fn', 'b', `fn(${args});`) as (fn: (...a: HostArray[]) => void, b: HostArray[]) => void;
  } catch {
    // no eval here (a CSP): the spread is correct, only slower
    return (fn, b) => fn(...b);
  }
}

class NativeExecutable implements Executable {
  /** per-program memories: scratch, outputs, and staging for inputs that cannot be passed as is */
  private own: (HostArray | undefined)[];
  private direct: (number | undefined)[]; // buffer → the input passed to it without copying
  // Precomputed per-call plan. `bufs` holds the array passed for each buffer: our own arrays and
  // the arenas are bound when they change (and their sizes checked then); inputs and scalars are
  // stored, and their lengths checked, per call.
  private readonly bufs: HostArray[];
  private readonly sizes: Int32Array;
  private readonly isF32: boolean[];
  private readonly stateBufs: number[];
  private scalars?: Float32Array;
  private f32Arena?: HostArray;
  private i32Arena?: HostArray;
  /** per input: the typed array kind it must be (its internal slot, not its prototype) */
  private readonly inKind: string[];
  private readonly inCount: number[];
  private readonly inDirect: boolean[];
  private readonly scalarBufs: number[];
  private readonly outCount: number[];
  /** a placement outside its buffer's declared size: every run refuses */
  private readonly placementError?: string;
  private readonly call: (fn: (...a: HostArray[]) => void, b: HostArray[]) => void;

  private readonly collectives?: NativeCollectives;

  constructor(
    private dev: NativeDevice,
    private m: Manifest,
    private fn: ReturnType<LibraryHandle['func']>,
    collectives?: (bufs: () => HostArray[]) => NativeCollectives,
  ) {
    this.collectives = collectives?.(() => this.bufs);
    this.direct = m.buffers.map((d, b) => {
      const ins = m.inputs.map((p, i) => [p, i] as const).filter(([p]) => p.buf === b);
      return d.kind === 'input' && ins.length === 1 && ins[0][0].offset === 0 && count(ins[0][0]) >= d.size
        ? ins[0][1]
        : undefined;
    });
    this.own = m.buffers.map((d, b) =>
      d.kind === 'scratch' || d.kind === 'output' || (d.kind === 'input' && this.direct[b] === undefined)
        ? alloc(d.dtype, d.size)
        : undefined,
    );
    this.sizes = Int32Array.from(m.buffers, (d) => d.size);
    this.isF32 = m.buffers.map((d) => d.dtype === 'f32');
    this.stateBufs = m.buffers.flatMap((d, b) => (d.kind === 'state' ? [b] : []));
    this.scalarBufs = m.buffers.flatMap((d, b) => (d.kind === 'scalars' ? [b] : []));
    this.bufs = m.buffers.map((d, b) => this.own[b] ?? alloc(d.dtype, 0));
    this.inKind = m.inputs.map((p) => arrayKind(p.dtype));
    this.inCount = m.inputs.map(count);
    this.inDirect = m.inputs.map((p, i) => this.direct[p.buf] === i);
    this.outCount = m.outputs.map(count);
    for (const p of [...m.inputs, ...m.outputs]) {
      const d = m.buffers[p.buf];
      if (!d || p.offset < 0 || p.offset + count(p) > d.size) {
        this.placementError = `placement [${p.offset}, +${count(p)}) outside buffer ${p.buf}`;
        break;
      }
      if ((p.dtype === 'float32') !== (d.dtype === 'f32')) {
        this.placementError = `buffer ${p.buf} (${d.name}) must be ${d.dtype}`;
        break;
      }
    }
    this.call = makeCaller(m.buffers.length);
  }

  async run(inputs: readonly HostArray[], scalars: Float32Array): Promise<HostArray[]> {
    return this.runSync(inputs, scalars);
  }

  /** run() without the promise: the same checks, then one foreign call */
  runSync(inputs: readonly HostArray[], scalars: Float32Array): HostArray[] {
    const m = this.m,
      bufs = this.bufs,
      sizes = this.sizes;
    if (inputs.length !== this.inCount.length) checkInputs(m, inputs);
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i];
      // internal slots, not properties: a redefined `length` must not let the kernel read past x
      if (typedArrayKind(x) !== this.inKind[i] || trueLength(x) !== this.inCount[i]) checkInputs(m, inputs); // throws
    }
    if (scalars !== this.scalars) {
      if (typedArrayKind(scalars) !== 'Float32Array') {
        throw new TypeError(`scalars: expected a Float32Array, got ${(scalars as object)?.constructor?.name}`);
      }
      for (let k = 0; k < this.scalarBufs.length; k++) bufs[this.scalarBufs[k]] = scalars;
      this.scalars = scalars;
    }
    if (this.placementError) throw new RangeError(this.placementError);
    // bind what may have changed: the arenas (they grow by replacement), the inputs
    const arenas = this.dev.arenas;
    if (arenas.f32 !== this.f32Arena || arenas.i32 !== this.i32Arena) {
      for (const b of this.stateBufs) bufs[b] = this.isF32[b] ? arenas.f32 : arenas.i32;
      for (const b of this.stateBufs) this.checkSize(b); // before the new arenas count as bound
      this.f32Arena = arenas.f32;
      this.i32Arena = arenas.i32;
    }
    // The caller's scalars every call (a resizable ArrayBuffer can shrink an array seen before).
    // The rest hold their sizes by construction: our own arrays were allocated at them, and a
    // direct input's buffer is no larger than the input, whose length was just checked.
    const sb = this.scalarBufs;
    for (let k = 0; k < sb.length; k++) if (trueLength(bufs[sb[k]]) < sizes[sb[k]]) this.checkSize(sb[k]);
    const ins = m.inputs;
    for (let i = 0; i < ins.length; i++) if (this.inDirect[i]) bufs[ins[i].buf] = inputs[i];
    for (let i = 0; i < ins.length; i++) if (!this.inDirect[i]) bufs[ins[i].buf].set(inputs[i], ins[i].offset);
    if (this.collectives) this.collectives.around(() => this.call(this.fn, bufs));
    else this.call(this.fn, bufs);
    const outs = m.outputs,
      res: HostArray[] = new Array(outs.length);
    for (let o = 0; o < outs.length; o++) {
      res[o] = bufs[outs[o].buf].slice(outs[o].offset, outs[o].offset + this.outCount[o]);
    }
    return res;
  }

  /** every buffer must hold what the program may touch: throws before anything is written */
  private checkSize(b: number): void {
    const has = trueLength(this.bufs[b]),
      d = this.m.buffers[b];
    if (has < this.sizes[b]) {
      throw new RangeError(`buffer ${b} (${d.name}, ${d.kind}) has ${has} elements; the program needs ${d.size}`);
    }
  }
}
