// nn.Parameter: a tensor whose value is persistent state. Inside a trace, reading it yields the
// current traced value (so a program sees its own updates); assigning `.grad` or `.value` records
// a state assignment. Outside a trace it reads and writes the host copy.
import type { DType, Node } from '../ir/graph.js';
import { makeNode, numel } from '../ir/graph.js';
import { KilnError, fmtShape } from '../errors.js';
import { Tensor, gradNodes, leafTensors } from '../tensor.js';
import { currentTrace } from '../trace-context.js';
import { FlagCell, stateQueue, TensorCell } from '../state.js';
import { checkSize } from '../view-args.js';

let paramCount = 0;

/** each tensor `p.grad` returned outside a trace -> the gradient cell it copies (an in-place collective writes it) */
export const hostGradCells = new WeakMap<Tensor, TensorCell>();

export interface TensorData {
  shape: number[];
  data: ArrayLike<number>;
  dtype?: DType;
}

export class Parameter extends Tensor {
  readonly cell: TensorCell;
  /** the gradient: a cell that is "undefined" while PyTorch would say `p.grad is None` */
  readonly gradCell: TensorCell;
  /**
   * where `requiresGrad` lives: a trace that reads the parameter guards on it, so freezing
   * (`requiresGrad_(false)`) after compile() re-traces a step without this parameter's gradient. A
   * plain flag cell rather than a GuardCell over the property: checked before every run, a cell's
   * own definedness costs far less than a condition's closure (measured ~1 µs a step for four)
   */
  private readonly requiresGradFlag: FlagCell;
  private hostNode?: { version: number; requiresGrad: boolean; node: Node };

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
    const flag = new FlagCell(`${name}.requiresGrad`, requiresGrad);
    this.requiresGradFlag = flag;
    // Tensor's own data property becomes an accessor over the cell
    Object.defineProperty(this, 'requiresGrad', {
      get: () => flag.defined,
      set: (v: boolean) => (flag.defined = v),
      enumerable: true,
      configurable: true,
    });
  }

  override get node(): Node {
    const t = currentTrace();
    let n: Node;
    if (t) {
      n = t.read(this.cell)!;
      t.read(this.requiresGradFlag);
    } else {
      // outside a trace: the current host value as a concrete tensor (a new node once frozen or
      // unfrozen: one that required grad stays marked so)
      const values = this.cell.read('Parameter (eager use)');
      const h = this.hostNode;
      if (!h || h.version !== this.cell.version || h.requiresGrad !== this.requiresGrad) {
        const node = makeNode('data', [], this.cell.shape, 'float32', { values: Float32Array.from(values) });
        this.hostNode = { version: this.cell.version, requiresGrad: this.requiresGrad, node };
      }
      n = this.hostNode!.node;
    }
    if (this.requiresGrad) {
      gradNodes.add(n);
      leafTensors.set(n, this);
    }
    return n;
  }

  /** the current value (throws asking for `await step.sync()` when only an asynchronous device has it) */
  override get data(): Float32Array {
    return this.cell.read('Parameter.data') as Float32Array;
  }
  override set data(values: ArrayLike<number>) {
    this.cell.writeInOrder(values);
  }

  override get grad(): Tensor | null {
    const t = currentTrace();
    if (t) {
      const n = t.read(this.gradCell);
      return n ? Tensor.fromNode(n) : null;
    }
    if (!this.gradCell.defined) return null;
    const values = Float32Array.from(this.gradCell.read('Parameter.grad'));
    const g = Tensor.fromNode(makeNode('data', [], this.cell.shape, 'float32', { values }));
    hostGradCells.set(g, this.gradCell);
    return g;
  }
  override set grad(g: Tensor | null) {
    if (g && g.shape.join() !== this.cell.shape.join()) {
      throw new KilnError(
        'assigned grad has data of a different size: ' +
          `expected ${fmtShape(this.cell.shape)}, got ${fmtShape(g.shape)}`,
      );
    }
    const t = currentTrace();
    if (t) {
      t.assign(this.gradCell, g ? g.float().node : null);
      return;
    }
    const values = g && Float32Array.from(g.data); // host write, in call order: becomes the latest
    stateQueue.apply(() => {
      if (values) this.gradCell.write(values);
      this.gradCell.defined = values !== null;
    });
  }

  /** in-place update of the value inside a trace (optimizers use this) */
  assign(value: Tensor): void {
    const t = currentTrace();
    if (!t) {
      this.cell.writeInOrder(value.data);
      return;
    }
    t.assign(this.cell, value.node);
  }

  override toString(): string {
    return `Parameter(${fmtShape(this.cell.shape)})`;
  }
}
