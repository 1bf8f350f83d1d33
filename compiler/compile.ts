// `compile(fn, { inputs, target })`: trace once, prepare on a target, run many times.
// A compiled function re-traces only when an assumption of its trace no longer holds (a gradient
// that was None is now set, say): the guards are the definedness of the cells it read.
import type { HostStmt } from '../runtime/host.js';
import { indexViolationMessage } from '../runtime/index-bounds.js';
import { HostStep, StepDriver, type StepProgram } from '../runtime/step.js';
import type { HostArray } from '../runtime/device.js';
import { getBackend, type Backend, type PreparedProgram, type ProgramStats } from './backend.js';
import type { SyncPreparedProgram } from './device-backend.js';
import { LiveHostCell, stateQueue, type HostCell, type TensorCell } from './state.js';
import { inputFault, trueLength, typedArrayKind } from '../runtime/typed-array.js';
import { KilnError } from './errors.js';
import { checkOptions } from './options.js';
import { makeNode, numel } from './ir/graph.js';
import { Tensor } from './tensor.js';
import { trace, inputDType, type InputSpec, type TracedProgram } from './trace.js';
import './targets/registry.js'; // every target's backends (each loads its device and toolchain on first use)

export interface CompileOptions {
  inputs: InputSpec[];
  /** 'reference' | 'native' | 'webgpu'; default 'reference' */
  target?: string;
}

/** one trace prepared on the target, as the step driver runs it */
class Variant implements StepProgram<Float64Array, any> {
  readonly host: HostStep;
  readonly indexBounds: TracedProgram['indexBounds'];
  /** the prepared program's synchronous step, when its target has one (native) */
  readonly runSync?: (inputs: HostArray[], scalars: Float32Array) => HostArray[] | undefined;
  /** whether every guard (a cell's definedness the trace assumed) holds now (generated code where allowed) */
  readonly holds: () => boolean;
  // the per-step work as flat arrays, built once
  private readonly hostVarIdx: Int32Array;
  private readonly hostCellList: HostCell[];
  /** per host cell: whether it is a live hyperparameter (taken at call time, not at run time) */
  private readonly liveHost: boolean[];
  /** the host cells a run may change, and their vars */
  private readonly outVarIdx: Int32Array;
  private readonly outCellList: HostCell[];
  private readonly definedCells: TensorCell[];
  private readonly definedValues: boolean[];
  private readonly outShapes: number[][];
  private readonly outDTypes: ('float32' | 'int32' | 'bool')[];

  constructor(
    readonly traced: TracedProgram,
    readonly prepared: PreparedProgram,
  ) {
    const { host } = traced.graph;
    const sp = prepared as SyncPreparedProgram;
    this.host = new HostStep(host);
    this.indexBounds = traced.indexBounds;
    this.runSync = typeof sp.runSync === 'function' ? sp.runSync.bind(sp) : undefined;
    this.holds = compileGuards([...traced.assumed]);
    this.hostVarIdx = Int32Array.from(traced.hostCells, (h) => h.var);
    this.hostCellList = traced.hostCells.map((h) => h.cell);
    this.liveHost = traced.hostCells.map((h) => h.cell instanceof LiveHostCell);
    // only cells whose var a statement sets change (others, like a live lr, are only read)
    const { outVarIdx, outCellList } = writeBack(traced, host.stmts);
    this.outVarIdx = outVarIdx;
    this.outCellList = outCellList;
    this.definedCells = [...traced.definedAfter.keys()];
    this.definedValues = [...traced.definedAfter.values()];
    this.outShapes = traced.graph.outputs.map((o) => [...o.shape]);
    this.outDTypes = traced.graph.outputs.map((o) => o.dtype);
  }

  run(inputs: HostArray[], scalars: Float32Array): Promise<HostArray[]> {
    return this.prepared.run(inputs, scalars, true); // the driver's private copies (runtime/step.ts)
  }

  /** the host cells' values when a queued run was called */
  takeLive(): Float64Array {
    return Float64Array.from(this.hostCellList, (c) => c.value);
  }

  /** the host cells' values (live ones as `live` took them, if given) */
  readHost(vars: Float64Array, live: Float64Array | undefined): void {
    const idx = this.hostVarIdx,
      hcells = this.hostCellList,
      isLive = this.liveHost;
    for (let i = 0; i < idx.length; i++) vars[idx[i]] = live && isLive[i] ? live[i] : hcells[i].value;
  }

  /** after the device ran without error: host state, definedness, the result tensors */
  commit(vars: Float64Array, outs: HostArray[]): any {
    const oidx = this.outVarIdx,
      ocells = this.outCellList;
    for (let i = 0; i < oidx.length; i++) ocells[i].value = vars[oidx[i]];
    const dc = this.definedCells,
      dv = this.definedValues;
    for (let i = 0; i < dc.length; i++) dc[i].defined = dv[i];
    const shape = this.traced.resultShape;
    if (shape === 'single') return this.tensor(0, outs[0]);
    if (shape === 'none') return undefined;
    const tensors: Tensor[] = new Array(outs.length);
    for (let i = 0; i < outs.length; i++) tensors[i] = this.tensor(i, outs[i]);
    return tensors;
  }

  private tensor(i: number, data: HostArray): Tensor {
    const dtype = this.outDTypes[i];
    const values = dtype === 'bool' ? Uint8Array.from(data) : data;
    return Tensor.fromNode(makeNode('data', [], this.outShapes[i], dtype, { values }));
  }
}

function writeBack(traced: TracedProgram, stmts: HostStmt[]): { outVarIdx: Int32Array; outCellList: HostCell[] } {
  const set = new Set(stmts.flatMap((s) => (s.k === 'set' ? [s.v] : [])));
  const hc = traced.hostCells.filter((h) => set.has(h.var));
  return { outVarIdx: Int32Array.from(hc, (h) => h.var), outCellList: hc.map((h) => h.cell) };
}

/** the guards as one function: `c[i].defined === want` for each, in order */
function compileGuards(guards: [{ defined: boolean }, boolean][]): () => boolean {
  const cells = guards.map(([c]) => c),
    want = guards.map(([, d]) => d);
  try {
    const body = guards.length
      ? want.map((d, i) => `c[${i}].defined === ${d ? 'true' : 'false'}`).join(' &&\n  ')
      : 'true';
    return new Function('c', `"use strict";\nreturn function kilnGuards() {\n  return ${body};\n};`)(
      cells,
    ) as () => boolean;
  } catch {
    // no eval here (a CSP)
    return () => {
      for (let i = 0; i < cells.length; i++) if (cells[i].defined !== want[i]) return false;
      return true;
    };
  }
}

export class CompiledFunction {
  private variants: Variant[] = [];
  private backend?: Backend;
  private readonly driver: StepDriver<HostArray | Tensor, Float64Array, any, Variant>;

  constructor(
    private readonly fn: (...args: Tensor[]) => unknown,
    readonly options: Required<CompileOptions>,
  ) {
    this.driver = new StepDriver({
      queue: stateQueue,
      check: (inputs) => this.checkInputs(inputs),
      current: () => this.current(),
      prepare: () => this.prepareVariant(),
      indexError: (bad) => new KilnError(indexViolationMessage(bad), bad.bound.site),
    });
  }

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
    const v = new Variant(traced, await this.backend.prepare(traced));
    this.variants.push(v);
    return v;
  }

  /**
   * Runs one step. Inputs are checked before anything changes. Runs and host-side state changes
   * take effect in call order whether or not each is awaited: when nothing is pending and the
   * target is synchronous (native, reference) the whole step happens before this returns its one
   * (already settled) promise; otherwise the step waits in `stateQueue` with private copies of
   * its inputs and of the live hyperparameters as they were at this call (runtime/step.ts).
   */
  run(...inputs: (HostArray | Tensor)[]): Promise<any> {
    return this.driver.run(inputs);
  }

  /** per input: the typed array kind and element count a run takes (built on first use) */
  private inputPlan?: { kind: string; n: number }[];

  private checkInputs(inputs: readonly (HostArray | Tensor)[]): HostArray[] {
    const plan = (this.inputPlan ??= this.options.inputs.map((spec) => ({
      kind: inputDType(spec.dtype) === 'float32' ? 'Float32Array' : 'Int32Array',
      n: numel(spec.shape),
    })));
    if (inputs.length === plan.length) {
      let ok = true;
      for (let i = 0; i < inputs.length; i++) {
        // the internal slots, not `length`: a redefined property must not pass for the real size
        const x = inputs[i];
        if (typedArrayKind(x) !== plan[i].kind || trueLength(x as HostArray) !== plan[i].n) {
          ok = false;
          break;
        }
      }
      if (ok) return inputs as HostArray[];
    }
    return this.checkInputsSlow(inputs);
  }

  private checkInputsSlow(inputs: readonly (HostArray | Tensor)[]): HostArray[] {
    const specs = this.options.inputs;
    if (inputs.length !== specs.length) {
      throw new KilnError(
        `run: expected ${specs.length} inputs ` +
          `(${specs.map((s) => `${s.dtype}[${s.shape}]`).join(', ')}), got ${inputs.length}`,
      );
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
  sync(): Promise<void> {
    return stateQueue.enqueue(async () => {
      await this.backend?.syncAll();
    });
  }

  /** kernels, launches and bytes of the most recently prepared program */
  stats(): ProgramStats {
    const v = this.variants[this.variants.length - 1];
    if (!v) throw new KilnError('stats(): the function has not been compiled yet (await compile(...) first)');
    return v.prepared.stats();
  }

  /** the traced programs (for inspection) */
  get programs(): TracedProgram[] {
    return this.variants.map((v) => v.traced);
  }
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
