// `compile(fn, { inputs, target })`: trace once, prepare on a target, run many times.
// A compiled function re-traces only when an assumption of its trace no longer holds (a gradient
// that was None is now set, say): the guards are the definedness of the cells it read.
import { compileHostProgram } from '../runtime/host.js';
import type { HostArray } from '../runtime/device.js';
import { getBackend, type Backend, type PreparedProgram, type ProgramStats } from './backend.js';
import { KilnError } from './errors.js';
import { makeNode } from './ir/graph.js';
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
  hostVars: Float64Array;
  hostInit: Float64Array;
  scalars: Float32Array;
  runHost: (vars: Float64Array, scalars: Float32Array) => void;
  guards: [{ defined: boolean }, boolean][];
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
    outer: for (const v of this.variants) {
      for (const [cell, defined] of v.guards) if (cell.defined !== defined) continue outer;
      return v;
    }
    return undefined;
  }

  private async prepareVariant(): Promise<Variant> {
    this.backend ??= await getBackend(this.options.target);
    const traced = trace(this.fn, this.options.inputs);
    const prepared = await this.backend.prepare(traced);
    const { host } = traced.graph;
    const v: Variant = {
      traced, prepared,
      hostVars: new Float64Array(host.vars.length),
      hostInit: Float64Array.from(host.vars, (h) => h.init),
      scalars: new Float32Array(Math.max(1, host.scalarCount)),
      runHost: compileHostProgram(host),
      guards: [...traced.assumed],
    };
    this.variants.push(v);
    return v;
  }

  /** Runs one step. Inputs are checked before anything changes. */
  async run(...inputs: (HostArray | Tensor)[]): Promise<any> {
    const arrays = this.checkInputs(inputs);
    const v = this.current() ?? (await this.prepareVariant());
    const { graph } = v.traced;
    v.hostVars.set(v.hostInit);
    for (const { var: i, cell } of v.traced.hostCells) v.hostVars[i] = cell.value;
    v.runHost(v.hostVars, v.scalars);
    const outs = await v.prepared.run(arrays, v.scalars);
    // commit host state only after the device ran without error
    for (const { var: i, cell } of v.traced.hostCells) cell.value = v.hostVars[i];
    for (const [cell, defined] of v.traced.definedAfter) cell.defined = defined;
    const tensors = outs.map((data, i) => {
      const o = graph.outputs[i];
      const values = o.dtype === 'bool' ? Uint8Array.from(data) : data;
      return Tensor.fromNode(makeNode('data', [], o.shape, o.dtype, { values }));
    });
    return v.traced.resultShape === 'single' ? tensors[0] : v.traced.resultShape === 'array' ? tensors : undefined;
  }

  private checkInputs(inputs: (HostArray | Tensor)[]): HostArray[] {
    const specs = this.options.inputs;
    if (inputs.length !== specs.length) {
      throw new KilnError(`run: expected ${specs.length} inputs (${specs.map((s) => `${s.dtype}[${s.shape}]`).join(', ')}), got ${inputs.length}`);
    }
    return inputs.map((x, i) => {
      const spec = specs[i];
      const dtype = inputDType(spec.dtype);
      const n = spec.shape.reduce((a, b) => a * b, 1);
      let arr: unknown = x;
      if (x instanceof Tensor) {
        if (x.shape.join() !== spec.shape.join()) throw new KilnError(`run: input ${i} has shape [${x.shape}], expected [${spec.shape}]`);
        arr = x.dtype === 'float32' ? x.data : Int32Array.from(x.data);
      }
      const want = dtype === 'float32' ? Float32Array : Int32Array;
      if (!(arr instanceof want)) {
        const got = (arr as object)?.constructor?.name ?? typeof arr;
        throw new KilnError(`run: input ${i} must be a ${want.name} for dtype ${spec.dtype} with shape [${spec.shape}], got ${got}`);
      }
      if (arr.length !== n) {
        throw new KilnError(`run: input ${i} has ${arr.length} elements, expected ${n} for shape [${spec.shape}]`);
      }
      return arr;
    });
  }

  /** brings every state value this function's target holds back to the host objects */
  async sync(): Promise<void> { await this.backend?.syncAll(); }

  /** kernels, launches and bytes of the most recently prepared program */
  stats(): ProgramStats {
    const v = this.variants[this.variants.length - 1];
    if (!v) throw new KilnError('stats(): the function has not been compiled yet (await compile(...) first)');
    return v.prepared.stats();
  }

  /** the traced programs (for inspection) */
  get programs(): TracedProgram[] { return this.variants.map((v) => v.traced); }
}

export async function compile(fn: (...args: any[]) => unknown, options: CompileOptions): Promise<CompiledFunction> {
  if (!options || !Array.isArray(options.inputs)) throw new KilnError('compile: options.inputs (a list of { shape, dtype }) is required');
  const f = new CompiledFunction(fn, { target: options.target ?? 'reference', inputs: options.inputs });
  await f.ready();
  return f;
}
