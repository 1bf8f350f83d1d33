// nn.Parameter: a tensor whose value is persistent state. Inside a trace, reading it yields the
// current traced value (so a program sees its own updates); assigning `.grad` or `.value` records
// a state assignment. Outside a trace it reads and writes the host copy.
import type { DType, Node } from '../ir/graph.js';
import { makeNode, numel } from '../ir/graph.js';
import { KilnError, fmtShape } from '../errors.js';
import { Tensor, gradNodes, leafTensors } from '../tensor.js';
import { currentTrace } from '../trace-context.js';
import { TensorCell } from '../state.js';
import { checkSize } from '../view-args.js';

let paramCount = 0;

export interface TensorData { shape: number[]; data: ArrayLike<number>; dtype?: DType }

export class Parameter extends Tensor {
  readonly cell: TensorCell;
  /** the gradient: a cell that is "undefined" while PyTorch would say `p.grad is None` */
  readonly gradCell: TensorCell;
  private hostNode?: { version: number; node: Node };

  constructor(init: TensorData | Tensor, requiresGrad = true) {
    const name = `param${paramCount++}`;
    if (!(init instanceof Tensor)) checkSize('Parameter', init?.shape);
    const shape = init instanceof Tensor ? init.shape : [...init.shape];
    const values = init instanceof Tensor ? init.data : init.data;
    if (!(init instanceof Tensor) && values.length !== numel(shape)) {
      throw new KilnError(`Parameter: ${values.length} values do not fill shape ${fmtShape(shape)}`);
    }
    const cell = new TensorCell(name, shape, 'float32', Float32Array.from(values));
    super(makeNode('state', [], shape, 'float32', { cell: cell.id }));
    this.cell = cell;
    this.gradCell = TensorCell.zeros(`${name}.grad`, shape, 'float32', false);
    this.requiresGrad = requiresGrad;
  }

  override get node(): Node {
    const t = currentTrace();
    let n: Node;
    if (t) {
      n = t.read(this.cell)!;
    } else {
      // outside a trace: the host value as a concrete tensor (pull with sync() first)
      if (!this.hostNode || this.hostNode.version !== this.cell.version) {
        this.hostNode = { version: this.cell.version, node: makeNode('data', [], this.cell.shape, 'float32', { values: Float32Array.from(this.cell.data) }) };
      }
      n = this.hostNode.node;
    }
    if (this.requiresGrad) { gradNodes.add(n); leafTensors.set(n, this); }
    return n;
  }

  /** the current host value (after `sync()` when a device has updated it) */
  override get data(): Float32Array { return this.cell.data as Float32Array; }
  override set data(values: ArrayLike<number>) { this.cell.write(values); }

  override get grad(): Tensor | null {
    const t = currentTrace();
    if (t) {
      const n = t.read(this.gradCell);
      return n ? Tensor.fromNode(n) : null;
    }
    return this.gradCell.defined ? Tensor.fromNode(makeNode('data', [], this.cell.shape, 'float32', { values: Float32Array.from(this.gradCell.data) })) : null;
  }
  override set grad(g: Tensor | null) {
    if (g && g.shape.join() !== this.cell.shape.join()) {
      throw new KilnError(`assigned grad has data of a different size: expected ${fmtShape(this.cell.shape)}, got ${fmtShape(g.shape)}`);
    }
    const t = currentTrace();
    if (t) { t.assign(this.gradCell, g ? g.float().node : null); return; }
    if (g) this.gradCell.write(g.data); // host write: becomes the latest
    this.gradCell.defined = g !== null;
  }

  /** in-place update of the value inside a trace (optimizers use this) */
  assign(value: Tensor): void {
    const t = currentTrace();
    if (!t) { this.cell.write(value.data); return; }
    t.assign(this.cell, value.node);
  }

  override toString(): string { return `Parameter(${fmtShape(this.cell.shape)})`; }
}
