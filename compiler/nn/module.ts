// nn.Module: parameters, children, state dicts with PyTorch's key names, train/eval.
import { KilnError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { Parameter, type TensorData } from './parameter.js';

export type StateDict = Record<string, { shape: number[]; data: Float32Array }>;

export abstract class Module {
  training = true;
  protected readonly _params = new Map<string, Parameter>();
  protected readonly _children = new Map<string, Module>();

  abstract forward(...args: Tensor[]): Tensor;
  /** `module.call(x)` is `module.forward(x)`, as `module(x)` is in PyTorch */
  call(...args: Tensor[]): Tensor {
    return this.forward(...args);
  }

  registerParameter(name: string, p: Parameter): Parameter {
    this._params.set(name, p);
    return p;
  }
  registerModule(name: string, m: Module): Module {
    this._children.set(name, m);
    return m;
  }

  *namedChildren(): Generator<[string, Module]> {
    yield* this._children;
  }
  children(): Module[] {
    return [...this._children.values()];
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
    for (const [n, p] of this._params) yield [prefix + n, p];
    for (const [n, m] of this._children) yield* m.walkParameters(`${prefix}${n}.`);
  }
  parameters(): Parameter[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  /**
   * Current values, keyed like PyTorch (`0.weight`); throws asking for `await step.sync()` when
   * only an asynchronous device (webgpu) has them.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, p] of this.namedParameters()) {
      out[name] = { shape: [...p.cell.shape], data: Float32Array.from(p.cell.read('stateDict()')) };
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
    const own = new Map(this.namedParameters());
    const missing = [...own.keys()].filter((k) => !(k in sd));
    const unexpected = Object.keys(sd).filter((k) => !own.has(k));
    const errors: string[] = [];
    for (const [k, p] of own) {
      const v = sd[k];
      if (!v) continue;
      // PyTorch's sentence, with kiln's shapes (`[5, 10]`, as every kiln message) for its torch.Size
      if (!Array.isArray(v.shape) || v.shape.join() !== p.cell.shape.join()) {
        const theirs = Array.isArray(v.shape) ? fmtShape(v.shape) : String(v.shape);
        errors.push(
          `size mismatch for ${k}: copying a param with shape ${theirs} from checkpoint, ` +
            `the shape in current model is ${fmtShape(p.cell.shape)}.`,
        );
      } else if (!v.data || v.data.length !== p.cell.data.length) {
        errors.push(
          `size mismatch for ${k}: ${v.data?.length ?? 0} values for shape ${fmtShape(v.shape)} ` +
            `in checkpoint, expected ${p.cell.data.length}.`,
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
    for (const [k, p] of own) if (sd[k]) p.cell.writeInOrder(sd[k].data); // after every run issued before
    return { missingKeys: missing, unexpectedKeys: unexpected };
  }

  train(mode = true): this {
    this.training = mode;
    for (const c of this._children.values()) c.train(mode);
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
