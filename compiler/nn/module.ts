// nn.Module: parameters, children, state dicts with PyTorch's key names, train/eval.
import { KilnError, fmtShape } from '../errors.js';
import { makeNode } from '../ir/graph.js';
import { FlagCell, stateQueue, type TensorCell } from '../state.js';
import { Tensor } from '../tensor.js';
import { currentTrace } from '../trace-context.js';
import { checkOptions } from '../options.js';
import { Buffer, BufferTable } from './buffer.js';
import { Parameter, type TensorData } from './parameter.js';

/** `dtype` 'int32' marks an integer buffer (num_batches_tracked; int64 in PyTorch and in checkpoints) */
export type StateDict = Record<string, { shape: number[]; data: Float32Array; dtype?: 'int32' }>;

export abstract class Module {
  /** @internal the training flag as a cell's definedness, so that compiled steps guard on it (see `training`) */
  readonly _trainingCell = new FlagCell('training', true);
  /** `null` entries are PyTorch's `register_parameter(name, None)`: a known name, not in the state dict */
  protected readonly _params = new Map<string, Parameter | null>();
  protected readonly _children = new Map<string, Module>();
  /** registerBuffer's table (compiler/nn/buffer.ts) */
  protected readonly _buffers = new BufferTable();

  /**
   * PyTorch's `__setattr__`: a Module or Parameter assigned to a field registers it, in assignment
   * order. The constructor returns a Proxy whose defineProperty trap sees both `this.fc1 = ...` (an
   * ordinary [[Set]] on the proxy ends in [[DefineOwnProperty]] on it) and class fields (ES2022
   * [[Define]] semantics, run on the `this` the base constructor returned). A Proxy rather than
   * discovering own fields when parameters are walked, because only it sees the assignment order
   * interleaved with explicit registerParameter calls, and reassignment as it happens.
   */
  constructor() {
    return new Proxy(this, {
      defineProperty: (target, key, desc) => {
        if (typeof key === 'string' && 'value' in desc && target._buffers.has(key) && !isOwned(desc.value)) {
          desc = { ...desc, value: target._buffers.fieldAssign(key, desc.value) };
        } else if (typeof key === 'string' && 'value' in desc) target.registerField(key, desc.value);
        return Reflect.defineProperty(target, key, desc);
      },
    });
  }

  private registerField(name: string, value: unknown): void {
    if (value instanceof Parameter) {
      // a layer that registered it under this or another name and also keeps it in a field registers it once
      for (const [n, p] of this._params) if (p === value && n !== name) return;
      this._children.delete(name);
      this._buffers.delete(name);
      this._params.set(name, value); // reassigning keeps the entry's position, as PyTorch's OrderedDict
    } else if (value instanceof Module) {
      this._params.delete(name);
      this._buffers.delete(name);
      this._children.set(name, value);
    } else if (this._params.has(name) && value !== undefined) {
      // PyTorch's message; plain tensors in fields that were never parameters register nothing
      if (value !== null) {
        const what = value instanceof Tensor ? 'torch.FloatTensor' : typeof value;
        throw new KilnError(`cannot assign '${what}' as parameter '${name}' (torch.nn.Parameter or None expected)`);
      }
      this._params.set(name, null);
    } else if (this._children.has(name) && value !== undefined) {
      if (value !== null) {
        throw new KilnError(
          `cannot assign '${typeof value}' as child module '${name}' (torch.nn.Module or None expected)`,
        );
      }
      this._children.delete(name);
    }
  }

  /**
   * As PyTorch's, any arguments and any result: a subclass declares its own (a Tensor for most layers, options
   * objects and tuples for attention), and a caller holding the concrete class gets those types
   */
  abstract forward(...args: any[]): any;
  /** `module.call(x)` is `module.forward(x)`, as `module(x)` is in PyTorch */
  call(...args: any[]): any {
    return this.forward(...args);
  }

  registerParameter<P extends Parameter | null>(name: string, p: P): P {
    this._params.set(name, p);
    return p;
  }
  /**
   * PyTorch's register_buffer (its checks and messages): persistent state that is not a parameter, in
   * stateDict() unless `persistent` is false; the Buffer is also the field `name`, and assigning a
   * Tensor to that field updates it (in place inside compile(): the step's new value persists).
   */
  registerBuffer<T extends Tensor | null>(
    name: string,
    tensor: T,
    opts: { persistent?: boolean } = {},
  ): T extends Tensor ? Buffer : null {
    checkOptions('registerBuffer', opts, ['persistent']);
    const own = this as unknown as Record<string, unknown>;
    const taken = (name in this && own[name] !== undefined) || this._params.has(name) || this._children.has(name);
    const b = this._buffers.register(name, tensor, opts.persistent ?? true, taken);
    Reflect.defineProperty(this, name, { value: b, writable: true, enumerable: true, configurable: true });
    return b as T extends Tensor ? Buffer : null;
  }
  /** PyTorch's `add_module` / `register_module`, with its checks and messages */
  registerModule(name: string, m: Module): Module {
    this.checkChild(name, m);
    this._children.set(name, m);
    return m;
  }
  /** registerModule's checks alone (containers check every entry before adding any) */
  protected checkChild(name: string, m: unknown): void {
    if (!(m instanceof Module)) throw new KilnError(`${typeName(m)} is not a Module subclass`);
    if (typeof name !== 'string') throw new KilnError(`module name should be a string. Got ${typeName(name)}`);
    if ((this as Record<string, unknown>)[name] !== undefined && !this._children.has(name)) {
      throw new KilnError(`attribute '${name}' already exists`);
    }
    if (name.includes('.')) throw new KilnError(`module name can't contain ".", got: ${name}`);
    if (name === '') throw new KilnError('module name can\'t be empty string ""');
  }

  /** the direct children, each once (PyTorch's memo) */
  *namedChildren(): Generator<[string, Module]> {
    const seen = new Set<Module>();
    for (const [n, m] of this._children) {
      if (seen.has(m)) continue;
      seen.add(m);
      yield [n, m];
    }
  }
  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  /**
   * PyTorch's `named_modules`: this module first (named `prefix`, '' by default), then each child's
   * modules depth first, keys joined with '.'; a module reached twice is yielded once unless
   * `removeDuplicate` is false.
   */
  namedModules(opts: string | { prefix?: string; removeDuplicate?: boolean } = {}): Generator<[string, Module]> {
    const o = typeof opts === 'string' ? { prefix: opts } : opts;
    checkOptions('namedModules', o, ['prefix', 'removeDuplicate']);
    return this.walkModules(new Set(), o.prefix ?? '', o.removeDuplicate ?? true);
  }
  private *walkModules(memo: Set<Module>, prefix: string, dedupe: boolean): Generator<[string, Module]> {
    if (memo.has(this)) return;
    if (dedupe) memo.add(this);
    yield [prefix, this];
    for (const [n, m] of this._children) yield* m.walkModules(memo, prefix ? `${prefix}.${n}` : n, dedupe);
  }
  /** every module of the tree, this one first (PyTorch's `modules()`) */
  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }

  /** PyTorch's `apply`: `fn` on every child's tree first, then on this module; returns this */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /**
   * PyTorch's `requires_grad_`: sets every parameter's `requiresGrad`. A frozen parameter gets no
   * gradient (its `.grad` stays null, a compiled step computes none), so optimizers skip it.
   */
  requiresGrad_(requiresGrad = true): this {
    if (typeof requiresGrad !== 'boolean') {
      throw new KilnError(
        `requiresGrad_(): argument 'requiresGrad' (position 1) must be bool, not ${typeName(requiresGrad)}`,
      );
    }
    for (const p of this.parameters()) p.requiresGrad = requiresGrad;
    return this;
  }

  *namedParameters(prefix = ''): Generator<[string, Parameter]> {
    const seen = new Set<Parameter>();
    for (const [name, p] of this.walkParameters(prefix)) {
      if (seen.has(p)) continue;
      seen.add(p);
      yield [name, p];
    }
  }
  private *walkParameters(prefix: string): Generator<[string, Parameter]> {
    for (const [n, p] of this._params) if (p) yield [prefix + n, p];
    for (const [n, m] of this._children) yield* m.walkParameters(`${prefix}${n}.`);
  }
  parameters(): Parameter[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  /** PyTorch's named_buffers: every module's buffers (persistent or not), each once */
  *namedBuffers(prefix = '', recurse = true): Generator<[string, Buffer]> {
    const seen = new Set<Buffer>();
    const walk = function* (m: Module, pre: string): Generator<[string, Buffer]> {
      for (const [n, b] of m._buffers.entries) if (b && !seen.has(b)) yield (seen.add(b), [pre + n, b]);
      if (recurse) for (const [n, c] of m._children) yield* walk(c, `${pre}${n}.`);
    };
    yield* walk(this, prefix);
  }
  buffers(recurse = true): Buffer[] {
    return [...this.namedBuffers('', recurse)].map(([, b]) => b);
  }

  /**
   * @internal the cells of stateDict() by key, in PyTorch's state_dict order: a module's parameters,
   * then its persistent buffers, then its children's (checkpoints and `kiln build` enumerate these)
   */
  *stateCells(prefix = '', seen = new Set<TensorCell>()): Generator<[string, TensorCell]> {
    for (const [k, c] of this.stateKeys(prefix)) if (!seen.has(c)) yield (seen.add(c), [k, c]);
  }
  /**
   * Every state dict key, as PyTorch's state_dict walks them: a tensor that two modules share (a head
   * tied to an embedding) is under both keys. stateCells() keeps the first (safetensors refuses aliases).
   */
  private *stateKeys(prefix: string): Generator<[string, TensorCell]> {
    const persistent = [...this._buffers.entries].filter(([n]) => !this._buffers.nonPersistent.has(n));
    for (const [n, t] of [...this._params, ...persistent]) if (t) yield [prefix + n, t.cell];
    for (const [n, m] of this._children) yield* m.stateKeys(`${prefix}${n}.`);
  }

  /**
   * Current values, keyed like PyTorch (`0.weight`); throws asking for `await step.sync()` when
   * only an asynchronous device (webgpu) has them.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, c] of this.stateKeys('')) {
      const data = Float32Array.from(c.read('stateDict()'));
      out[name] = c.dtype === 'int32' ? { shape: [...c.shape], data, dtype: 'int32' } : { shape: [...c.shape], data };
    }
    return out;
  }

  /**
   * PyTorch's rules and messages: with `strict`, missing and unexpected keys are errors; a shape
   * mismatch always is. Everything is checked before anything is written, so a rejected dict
   * changes nothing.
   */
  loadStateDict(sd: Record<string, TensorData>, strict = true): { missingKeys: string[]; unexpectedKeys: string[] } {
    if (!sd || typeof sd !== 'object') {
      throw new KilnError(`Expected state_dict to be dict-like, got ${sd === null ? 'null' : typeof sd}.`);
    }
    const own = new Map(this.stateKeys(''));
    const missing = [...own.keys()].filter((k) => !(k in sd));
    const unexpected = Object.keys(sd).filter((k) => !own.has(k));
    const errors: string[] = [];
    for (const [k, c] of own) {
      const v = sd[k];
      if (!v) continue;
      // PyTorch's sentence, with kiln's shapes (`[5, 10]`, as every kiln message) for its torch.Size
      if (!Array.isArray(v.shape) || v.shape.join() !== c.shape.join()) {
        const theirs = Array.isArray(v.shape) ? fmtShape(v.shape) : String(v.shape);
        errors.push(
          `size mismatch for ${k}: copying a param with shape ${theirs} from checkpoint, ` +
            `the shape in current model is ${fmtShape(c.shape)}.`,
        );
      } else if (!v.data || v.data.length !== c.data.length) {
        errors.push(
          `size mismatch for ${k}: ${v.data?.length ?? 0} values for shape ${fmtShape(v.shape)} ` +
            `in checkpoint, expected ${c.data.length}.`,
        );
      }
    }
    // PyTorch puts the key errors first: missing, then unexpected
    if (strict && unexpected.length) {
      errors.unshift(`Unexpected key(s) in state_dict: ${unexpected.map((k) => `"${k}"`).join(', ')}. `);
    }
    if (strict && missing.length) {
      errors.unshift(`Missing key(s) in state_dict: ${missing.map((k) => `"${k}"`).join(', ')}. `);
    }
    if (errors.length) {
      throw new KilnError(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${errors.join('\n\t')}`);
    }
    for (const [k, c] of own) if (sd[k]) c.writeInOrder(sd[k].data); // after every run issued before
    return { missingKeys: missing, unexpectedKeys: unexpected };
  }

  /**
   * Whether the module is in training mode. Read inside a traced function it becomes a guard of the
   * compiled step (a later `eval()` re-traces, `train()` again reuses the first trace); set inside
   * one (`model.eval()` in the step), every run sets it, as the call would. Outside a trace a change
   * lands in call order after runs issued before it.
   */
  get training(): boolean {
    const t = currentTrace();
    return t ? t.read(this._trainingCell) !== null : this._trainingCell.defined;
  }
  set training(mode: boolean) {
    const c = this._trainingCell;
    const t = currentTrace();
    if (t) t.assign(c, mode ? makeNode('state', [], [0], 'float32', { cell: c.id }) : null);
    else stateQueue.apply(() => (c.defined = mode));
  }

  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new KilnError('training mode is expected to be boolean');
    this.training = mode;
    for (const c of this.children()) c.train(mode);
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** PyTorch's `model.zero_grad()`: clears every parameter's gradient (set to None) */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      if (setToNone || !p.grad) p.grad = null;
      else p.grad = p.grad.mul(0);
    }
  }
}

/** a value's type as PyTorch's messages name it (`torch.typename`) */
function typeName(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/** a value whose field assignment registers it (and drops a buffer of that name), as in PyTorch */
const isOwned = (v: unknown) => v instanceof Parameter || v instanceof Module;
