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
import { trueLength } from '../runtime/typed-array.js';
import { checkRunInputs, fitsInputs, inputKinds, sameLengths, shapesForLengths } from './input-shapes.js';
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
  /** the element count of each input a run passes (its inputShapes') */
  readonly lengths: Int32Array;
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
    /** the input shapes it was traced for */
    readonly inputShapes: number[][],
  ) {
    const { host } = traced.graph;
    this.lengths = Int32Array.from(inputShapes, numel);
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
    this.kinds = inputKinds(options.inputs);
    this.driver = new StepDriver({
      queue: stateQueue,
      check: (inputs) => this.checkInputs(inputs),
      current: (inputs) => this.current(inputs),
      prepare: (inputs) => this.prepareVariant(inputs.map((x) => trueLength(x))),
      indexError: (bad) => new KilnError(indexViolationMessage(bad), bad.bound.site),
    });
  }

  /** traces (if no variant fits the current state) and prepares the program on the target, for the declared shapes */
  async ready(): Promise<Variant> {
    const lengths = this.options.inputs.map((s) => numel(s.shape));
    return this.find(lengths) ?? this.prepareVariant(lengths);
  }

  /** the variant for these (checked) inputs' lengths whose guards hold now, if any (synchronous: the per-step path) */
  private current(inputs: readonly HostArray[]): Variant | undefined {
    const last = this.last;
    if (last && sameLengths(last.lengths, inputs) && last.holds()) return last;
    return this.find(inputs.map((x) => trueLength(x)));
  }

  private find(lengths: readonly number[]): Variant | undefined {
    for (const v of this.variants) {
      if (v.lengths.every((n, j) => n === lengths[j]) && v.holds()) return (this.last = v);
    }
    return undefined;
  }

  private async prepareVariant(lengths: readonly number[]): Promise<Variant> {
    this.backend ??= await getBackend(this.options.target);
    const shapes = shapesForLengths(this.options.inputs, lengths);
    const specs = this.options.inputs.map((s, i) => ({ ...s, shape: shapes[i] }));
    const traced = trace(this.fn, specs);
    const v = new Variant(traced, await this.backend.prepare(traced), shapes);
    this.variants.push(v);
    return (this.last = v);
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

  /** the variant that ran last: its inputs are checked first */
  private last?: Variant;
  /** per input, the typed array a run passes it in */
  private readonly kinds: string[];

  private checkInputs(inputs: readonly (HostArray | Tensor)[]): HostArray[] {
    if (this.last && fitsInputs(this.kinds, this.last.lengths, inputs)) return inputs as HostArray[];
    return checkRunInputs(this.options.inputs, inputs);
  }

  /** after every run issued before it: brings every state value this function's target holds back to the host */
  sync(): Promise<void> {
    return stateQueue.enqueue(async () => {
      await this.backend?.syncAll();
    });
  }

  /**
   * kernels, launches and bytes of the program that ran last (or was prepared last), with the input
   * shapes it was traced for and the shapes of every variant prepared so far
   */
  stats(): ProgramStats & { inputShapes: number[][]; variants: number[][][] } {
    const v = this.last ?? this.variants[this.variants.length - 1];
    if (!v) throw new KilnError('stats(): the function has not been compiled yet (await compile(...) first)');
    return { ...v.prepared.stats(), inputShapes: v.inputShapes, variants: this.variants.map((x) => x.inputShapes) };
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
