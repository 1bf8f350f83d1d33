// Module buffers (PyTorch's register_buffer): tensors that are persistent state but not parameters,
// e.g. BatchNorm's running statistics. A Buffer owns a TensorCell as a Parameter does, so a compiled
// step reads it as state and updates it in place (assign), and the value lives on whichever device
// ran last, like any parameter. Module keeps a BufferTable; module.ts only routes to it.
import type { DType, Node } from '../ir/graph.js';
import { makeNode } from '../ir/graph.js';
import { KilnError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { currentTrace } from '../trace-context.js';
import { TensorCell } from '../state.js';

let bufferCount = 0;

/** a registered buffer: float32 or int32 state with a fixed shape (assignments keep both) */
export class Buffer extends Tensor {
  readonly cell: TensorCell;
  private hostNode?: { version: number; node: Node };

  constructor(init: Tensor) {
    const dtype: DType = init.dtype === 'float32' ? 'float32' : 'int32';
    const values = init.data; // concrete: registerBuffer refuses traced tensors
    const data = dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
    const cell = new TensorCell(`buffer${bufferCount++}`, init.shape, dtype, data);
    super(makeNode('state', [], cell.shape, dtype, { cell: cell.id }));
    this.cell = cell;
  }

  override get node(): Node {
    const t = currentTrace();
    if (t) return t.read(this.cell)!;
    const values = this.cell.read('buffer (eager use)');
    if (!this.hostNode || this.hostNode.version !== this.cell.version) {
      const copy = this.cell.dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
      this.hostNode = {
        version: this.cell.version,
        node: makeNode('data', [], this.cell.shape, this.cell.dtype, { values: copy }),
      };
    }
    return this.hostNode.node;
  }

  /** the current value (throws asking for `await step.sync()` when only an asynchronous device has it) */
  override get data(): Float32Array | Int32Array {
    return this.cell.read('buffer.data');
  }
  override set data(values: ArrayLike<number>) {
    this.cell.writeInOrder(values);
  }

  /** in-place update (PyTorch's `buf.copy_(value)`): a state assignment inside a trace, a host write outside */
  assign(value: Tensor): void {
    if (value.shape.join() !== this.cell.shape.join()) {
      throw new KilnError(
        `buffer ${this.cell.name}: cannot assign a tensor of shape ${fmtShape(value.shape)} ` +
          `to a buffer of shape ${fmtShape(this.cell.shape)}`,
      );
    }
    const v = value.to(this.cell.dtype);
    const t = currentTrace();
    if (t) t.assign(this.cell, v.detach().node);
    else this.cell.writeInOrder(v.data);
  }

  override toString(): string {
    return `Buffer(${this.cell.dtype}${fmtShape(this.cell.shape)})`;
  }
}

const typename = (v: unknown) =>
  v === null ? 'None' : typeof v === 'object' ? (v as object).constructor.name : typeof v;

/** a module's own buffers, in registration order; `null` is PyTorch's `register_buffer(name, None)` */
export class BufferTable {
  readonly entries = new Map<string, Buffer | null>();
  readonly nonPersistent = new Set<string>();

  has(name: string): boolean {
    return this.entries.has(name);
  }
  delete(name: string): void {
    this.entries.delete(name);
    this.nonPersistent.delete(name);
  }

  /** PyTorch's register_buffer checks and messages; `taken`: the name is another attribute of the module */
  register(name: string, tensor: Tensor | null, persistent: boolean, taken: boolean): Buffer | null {
    if (typeof name !== 'string') throw new KilnError(`buffer name should be a string. Got ${typename(name)}`);
    if (name.includes('.')) throw new KilnError('buffer name can\'t contain "."');
    if (name === '') throw new KilnError('buffer name can\'t be empty string ""');
    if (taken && !this.entries.has(name)) throw new KilnError(`attribute '${name}' already exists`);
    if (tensor !== null && !(tensor instanceof Tensor)) {
      throw new KilnError(
        `cannot assign '${typename(tensor)}' object to buffer '${name}' (torch Tensor or None required)`,
      );
    }
    const b = tensor === null ? null : this.adopt(tensor, `registerBuffer('${name}')`);
    this.entries.set(name, b);
    if (persistent) this.nonPersistent.delete(name);
    else this.nonPersistent.add(name);
    return b;
  }

  /**
   * PyTorch's `__setattr__` on a buffer's name: a Tensor replaces its value, null makes it None.
   * The field keeps the Buffer (so later reads see the new value, in a trace too); the value
   * to store in the field is returned.
   */
  fieldAssign(name: string, value: unknown): unknown {
    if (value === undefined) return value; // a class field's declaration, not an assignment
    const b = this.entries.get(name);
    if (value === b) return value;
    if (value === null) {
      this.entries.set(name, null);
      return null;
    }
    if (!(value instanceof Tensor)) {
      throw new KilnError(`cannot assign '${typename(value)}' as buffer '${name}' (torch.Tensor or None expected)`);
    }
    if (b && value.shape.join() === b.cell.shape.join()) {
      b.assign(value);
      return b;
    }
    // another shape, or a buffer that was None: a new cell, which only exists outside compile()
    const nb = this.adopt(value, `buffer '${name}'`);
    this.entries.set(name, nb);
    return nb;
  }

  private adopt(t: Tensor, what: string): Buffer {
    if (t instanceof Buffer) return t;
    if (currentTrace()) {
      throw new KilnError(
        `${what}: a new buffer (or one of another shape) cannot be made inside compile(); ` +
          'register it in the constructor and assign values of its shape',
      );
    }
    if (t.dtype === 'bool') throw new KilnError(`${what}: bool buffers are not supported (use int32 or float32)`);
    return new Buffer(t);
  }
}
