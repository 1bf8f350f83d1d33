// `compile(fn, { inputs, target })`: trace once, prepare on a target, run many times.
// A compiled function re-traces only when an assumption of its trace no longer holds (a gradient
// that was None is now set, say): the guards are the definedness of the cells it read.
import { compileHostProgram, type HostStmt } from '../runtime/host.js';
import { findIndexViolation, indexViolationMessage } from '../runtime/index-bounds.js';
import type { HostArray } from '../runtime/device.js';
import { getBackend, type Backend, type PreparedProgram, type ProgramStats } from './backend.js';
import type { SyncPreparedProgram } from './device-backend.js';
import { LiveHostCell, stateQueue, type HostCell, type TensorCell } from './state.js';
import { copyInput, inputFault, trueLength, typedArrayKind } from '../runtime/typed-array.js';
import { KilnError } from './errors.js';
import { checkOptions } from './options.js';
import { makeNode, numel } from './ir/graph.js';
import { Tensor } from './tensor.js';
import { trace, inputDType, type InputSpec, type TracedProgram } from './trace.js';
import './autodiff.js';

export interface CompileOptions {
  inputs: InputSpec[];
  /** 'reference' | 'native' | 'webgpu'; default 'reference' */
  target?: string;
}

interface Variant {
  traced: TracedProgram;
  prepared: PreparedProgram;
  /** the prepared program's synchronous step, when its target has one (native) */
  runSync?: (inputs: HostArray[], scalars: Float32Array) => HostArray[] | undefined;
  hostVars: Float64Array;
  hostInit: Float64Array;
  scalars: Float32Array;
  runHost: (vars: Float64Array, scalars: Float32Array) => void;
  guards: [{ defined: boolean }, boolean][];
  /** whether every guard holds now (generated straight-line code where allowed) */
  holds: () => boolean;
  // the per-step work as flat arrays, built once
  hostVarIdx: Int32Array;
  hostCellList: HostCell[];
  /** per host cell: whether it is a live hyperparameter (taken at call time, not at run time) */
  liveHost: boolean[];
  /** the host cells a run may change, and their vars */
  outVarIdx: Int32Array;
  outCellList: HostCell[];
  definedCells: TensorCell[];
  definedValues: boolean[];
  outShapes: number[][];
  outDTypes: ('float32' | 'int32' | 'bool')[];
}

/** the host cells' values when a queued run was called, for the variant that held then */
interface LiveValues { v: Variant; values: Float64Array }

function writeBack(traced: TracedProgram, stmts: HostStmt[]): { outVarIdx: Int32Array; outCellList: HostCell[] } {
  const set = new Set(stmts.flatMap((s) => (s.k === 'set' ? [s.v] : [])));
  const hc = traced.hostCells.filter((h) => set.has(h.var));
  return { outVarIdx: Int32Array.from(hc, (h) => h.var), outCellList: hc.map((h) => h.cell) };
}

/** the guards as one function: `c[i].defined === want` for each, in order */
function compileGuards(guards: [{ defined: boolean }, boolean][]): () => boolean {
  const cells = guards.map(([c]) => c), want = guards.map(([, d]) => d);
  try {
    const body = guards.length
      ? want.map((d, i) => `c[${i}].defined === ${d ? 'true' : 'false'}`).join(' &&\n  ')
      : 'true';
    return new Function(
      'c',
      `"use strict";\nreturn function kilnGuards() {\n  return ${body};\n};`,
    )(cells) as () => boolean;
  } catch { // no eval here (a CSP)
    return () => {
      for (let i = 0; i < cells.length; i++) if (cells[i].defined !== want[i]) return false;
      return true;
    };
  }
}

export class CompiledFunction {
  private variants: Variant[] = [];
  private backend?: Backend;

  constructor(private readonly fn: (...args: Tensor[]) => unknown, readonly options: Required<CompileOptions>) {}

  /** traces (if no variant fits the current state) and prepares the program on the target */
  async ready(): Promise<Variant> {
    return this.current() ?? this.prepareVariant();
  }

  /** the variant whose guards hold now, if any (synchronous: the per-step path) */
  private current(): Variant | undefined {
    const vs = this.variants;
    for (let i = 0; i < vs.length; i++) if (vs[i].holds()) return vs[i];
    return undefined;
  }

  private async prepareVariant(): Promise<Variant> {
    this.backend ??= await getBackend(this.options.target);
    const traced = trace(this.fn, this.options.inputs);
    const prepared = await this.backend.prepare(traced);
    const { host } = traced.graph;
    const guards = [...traced.assumed];
    const sp = prepared as SyncPreparedProgram;
    const v: Variant = {
      traced, prepared,
      runSync: typeof sp.runSync === 'function' ? sp.runSync.bind(sp) : undefined,
      hostVars: new Float64Array(host.vars.length),
      hostInit: Float64Array.from(host.vars, (h) => h.init),
      scalars: new Float32Array(Math.max(1, host.scalarCount)),
      runHost: compileHostProgram(host),
      guards,
      holds: compileGuards(guards),
      hostVarIdx: Int32Array.from(traced.hostCells, (h) => h.var),
      hostCellList: traced.hostCells.map((h) => h.cell),
      liveHost: traced.hostCells.map((h) => h.cell instanceof LiveHostCell),
      // only cells whose var a statement sets change (others, like a live lr, are only read)
      ...writeBack(traced, host.stmts),
      definedCells: [...traced.definedAfter.keys()],
      definedValues: [...traced.definedAfter.values()],
      outShapes: traced.graph.outputs.map((o) => [...o.shape]),
      outDTypes: traced.graph.outputs.map((o) => o.dtype),
    };
    this.variants.push(v);
    return v;
  }

  /**
   * Runs one step. Inputs are checked before anything changes. Runs and host-side state changes
   * take effect in call order whether or not each is awaited: when nothing is pending and the
   * target is synchronous (native, reference) the whole step happens before this returns its one
   * (already settled) promise; otherwise the step waits in `stateQueue` with private copies of
   * its inputs and of the live hyperparameters as they were at this call.
   */
  run(...inputs: (HostArray | Tensor)[]): Promise<any> {
    try {
      const arrays = this.checkInputs(inputs);
      const v = this.current();
      if (v) checkIndexInputs(v.traced, arrays); // class indices in range, before anything changes
      if (v && stateQueue.idle) {
        const done = this.runNowSync(v, arrays);
        if (done) return Promise.resolve(done.result);
      }
      const taken = arrays.map(copyInput);
      const live = v && { v, values: Float64Array.from(v.hostCellList, (c) => c.value) };
      return stateQueue.enqueue(() => this.runQueued(taken, live));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** the step now, if its target can do it without waiting; undefined, having changed nothing, if not */
  private runNowSync(v: Variant, arrays: HostArray[]): { result: any } | undefined {
    if (!v.runSync) return undefined;
    this.hostStep(v);
    const outs = v.runSync(arrays, v.scalars);
    return outs && { result: this.commit(v, outs) };
  }

  private async runQueued(arrays: HostArray[], live: LiveValues | undefined): Promise<any> {
    const v = this.current() ?? (await this.prepareVariant());
    checkIndexInputs(v.traced, arrays);
    this.hostStep(v, live?.v === v ? live.values : undefined);
    const outs = (v.runSync && v.runSync(arrays, v.scalars)) || (await v.prepared.run(arrays, v.scalars));
    return this.commit(v, outs);
  }

  /** the host program over the host cells' values (live ones as `live` took them, if given) */
  private hostStep(v: Variant, live?: Float64Array): void {
    const vars = v.hostVars, idx = v.hostVarIdx, hcells = v.hostCellList, isLive = v.liveHost;
    vars.set(v.hostInit);
    for (let i = 0; i < idx.length; i++) vars[idx[i]] = live && isLive[i] ? live[i] : hcells[i].value;
    v.runHost(vars, v.scalars);
  }

  /** after the device ran without error: host state, definedness, the result tensors */
  private commit(v: Variant, outs: HostArray[]): any {
    const vars = v.hostVars, oidx = v.outVarIdx, ocells = v.outCellList;
    for (let i = 0; i < oidx.length; i++) ocells[i].value = vars[oidx[i]];
    const dc = v.definedCells, dv = v.definedValues;
    for (let i = 0; i < dc.length; i++) dc[i].defined = dv[i];
    const shape = v.traced.resultShape;
    if (shape === 'single') return this.tensor(v, 0, outs[0]);
    if (shape === 'none') return undefined;
    const tensors: Tensor[] = new Array(outs.length);
    for (let i = 0; i < outs.length; i++) tensors[i] = this.tensor(v, i, outs[i]);
    return tensors;
  }

  private tensor(v: Variant, i: number, data: HostArray): Tensor {
    const dtype = v.outDTypes[i];
    const values = dtype === 'bool' ? Uint8Array.from(data) : data;
    return Tensor.fromNode(makeNode('data', [], v.outShapes[i], dtype, { values }));
  }

  /** per input: the typed array kind and element count a run takes (built on first use) */
  private inputPlan?: { kind: string; n: number }[];

  private checkInputs(inputs: (HostArray | Tensor)[]): HostArray[] {
    const plan = (this.inputPlan ??= this.options.inputs.map((spec) => ({
      kind: inputDType(spec.dtype) === 'float32' ? 'Float32Array' : 'Int32Array',
      n: numel(spec.shape),
    })));
    if (inputs.length === plan.length) {
      let ok = true;
      for (let i = 0; i < inputs.length; i++) {
        // the internal slots, not `length`: a redefined property must not pass for the real size
        const x = inputs[i];
        if (typedArrayKind(x) !== plan[i].kind || trueLength(x as HostArray) !== plan[i].n) { ok = false; break; }
      }
      if (ok) return inputs as HostArray[];
    }
    return this.checkInputsSlow(inputs);
  }

  private checkInputsSlow(inputs: (HostArray | Tensor)[]): HostArray[] {
    const specs = this.options.inputs;
    if (inputs.length !== specs.length) {
      throw new KilnError(`run: expected ${specs.length} inputs `
        + `(${specs.map((s) => `${s.dtype}[${s.shape}]`).join(', ')}), got ${inputs.length}`);
    }
    return inputs.map((x, i) => {
      const spec = specs[i];
      const dtype = inputDType(spec.dtype) === 'float32' ? 'float32' : 'int32';
      const n = numel(spec.shape);
      let arr: unknown = x;
      if (x instanceof Tensor) {
        if (x.shape.join() !== spec.shape.join()) {
          throw new KilnError(`run: input ${i} has shape [${x.shape}], expected [${spec.shape}]`);
        }
        arr = x.dtype === 'float32' ? x.data : Int32Array.from(x.data);
      }
      const fault = inputFault(arr, dtype, n);
      if (fault && 'got' in fault) {
        const want = dtype === 'float32' ? 'Float32Array' : 'Int32Array';
        const at = `dtype ${spec.dtype} with shape [${spec.shape}]`;
        throw new KilnError(`run: input ${i} must be a ${want} for ${at}, got ${fault.got}`);
      }
      if (fault) {
        const why = fault.detached ? ' (its ArrayBuffer is detached)' : '';
        const want = `expected ${n} for shape [${spec.shape}]`;
        throw new KilnError(`run: input ${i} has ${fault.length} elements, ${want}${why}`);
      }
      return arr as HostArray;
    });
  }

  /** after every run issued before it: brings every state value this function's target holds back to the host */
  sync(): Promise<void> { return stateQueue.enqueue(async () => { await this.backend?.syncAll(); }); }

  /** kernels, launches and bytes of the most recently prepared program */
  stats(): ProgramStats {
    const v = this.variants[this.variants.length - 1];
    if (!v) throw new KilnError('stats(): the function has not been compiled yet (await compile(...) first)');
    return v.prepared.stats();
  }

  /** the traced programs (for inspection) */
  get programs(): TracedProgram[] { return this.variants.map((v) => v.traced); }
}

/** class/gather indices given to run() must be in range (PyTorch's message), before anything launches */
function checkIndexInputs(traced: TracedProgram, arrays: readonly HostArray[]): void {
  if (!traced.indexBounds.length) return;
  const bad = findIndexViolation(traced.indexBounds, arrays);
  if (bad) throw new KilnError(indexViolationMessage(bad), bad.bound.site);
}

export async function compile(fn: (...args: any[]) => unknown, options: CompileOptions): Promise<CompiledFunction> {
  if (!options || !Array.isArray(options.inputs)) {
    throw new KilnError('compile: options.inputs (a list of { shape, dtype }) is required');
  }
  checkOptions('compile', options, ['inputs', 'target']);
  const f = new CompiledFunction(fn, { target: options.target ?? 'reference', inputs: options.inputs });
  await f.ready();
  return f;
}
