// The trace being recorded, if any. `compile` runs the user's function once inside a Trace; every
// read of persistent state goes through it, so that a program sees its own in-place updates and
// ends as a pure (state, inputs) -> (state', outputs) function.
import type { HostStmt, HostVar } from '../runtime/host.js';
import type { IndexBound } from '../runtime/index-bounds.js';
import { HostScalar } from './host-scalar.js';
import type { DType, Node } from './ir/graph.js';
import { makeNode } from './ir/graph.js';
import { KilnError, fmtShape } from './errors.js';
import { HostCell, TensorCell } from './state.js';

export class Trace {
  /** value of each tensor cell as the trace goes; null stands for PyTorch's None */
  readonly current = new Map<TensorCell, Node | null>();
  /** value on entry of each cell the trace read (absent: written before ever being read) */
  readonly entry = new Map<TensorCell, Node | null>();
  /** definedness of cells on entry that the trace relied on: a guard checked before each run */
  readonly assumed = new Map<TensorCell, boolean>();
  /** host program: vars are SSA; a host cell's var index is where its value lives on entry */
  readonly hostVars: HostVar[] = [];
  readonly hostStmts: HostStmt[] = [];
  readonly hostEntry = new Map<HostCell, number>();
  readonly hostCurrent = new Map<HostCell, number>();
  private readonly emitted = new Map<string, number>();
  scalarCount = 0;
  /** frozen tensors captured by the trace become read-only cells */
  readonly constants = new Map<object, TensorCell>();
  /** index inputs and their valid ranges, checked before every run */
  readonly indexBounds: IndexBound[] = [];
  /** what the next backward() does once its gradients are delivered (DistributedDataParallel's reduction) */
  readonly afterBackward: (() => void)[] = [];
  /** collective buckets numbered so far (allreduce nodes of one bucket share a number) */
  buckets = 0;

  read(cell: TensorCell): Node | null {
    if (this.current.has(cell)) return this.current.get(cell)!;
    if (!this.assumed.has(cell)) this.assumed.set(cell, cell.defined);
    const node = cell.defined ? makeNode('state', [], cell.shape, cell.dtype, { cell: cell.id }) : null;
    this.entry.set(cell, node);
    this.current.set(cell, node);
    return node;
  }

  assign(cell: TensorCell, value: Node | null): void {
    if (value && (value.dtype !== cell.dtype || value.shape.join() !== cell.shape.join())) {
      throw new KilnError(
        `assigning to ${cell.name}: expected ${cell.dtype}${fmtShape(cell.shape)}, ` +
          `got ${value.dtype}${fmtShape(value.shape)}`,
      );
    }
    // a write before any read assumes nothing about the entry state: no guard
    this.current.set(cell, value);
  }

  hostRead(cell: HostCell): HostScalar {
    let v = this.hostCurrent.get(cell);
    if (v === undefined) {
      v = this.hostVars.push({ name: cell.name, init: cell.value }) - 1;
      this.hostEntry.set(cell, v);
      this.hostCurrent.set(cell, v);
    }
    return new HostScalar({ k: 'var', i: v });
  }

  hostAssign(cell: HostCell, value: HostScalar): void {
    this.hostRead(cell);
    const v = this.hostVars.push({ name: `${cell.name}'`, init: 0 }) - 1;
    this.hostStmts.push({ k: 'set', v, e: value.expr });
    this.hostCurrent.set(cell, v);
  }

  /** a float32 node carrying a host scalar's value at this point of the step */
  scalarNode(s: HostScalar, dtype: DType = 'float32'): Node {
    const c = s.constant;
    if (c !== undefined) return makeNode('const', [], [], dtype, { value: dtype === 'float32' ? Math.fround(c) : c });
    const key = JSON.stringify(s.expr);
    let slot = this.emitted.get(key);
    if (slot === undefined) {
      slot = this.scalarCount++;
      this.emitted.set(key, slot);
      this.hostStmts.push({ k: 'emit', s: slot, e: s.expr });
    }
    return makeNode('scalar', [], [], 'float32', { slot });
  }
}

let active: Trace | null = null;

export const currentTrace = (): Trace | null => active;

export function withTrace<T>(trace: Trace, fn: () => T): T {
  const prev = active;
  active = trace;
  try {
    return fn();
  } finally {
    active = prev;
  }
}

const eagerAfterBackward: (() => void)[] = [];

/** runs `fn` when the next backward() of this trace (or, outside one, of eager code) has delivered its gradients */
export function afterNextBackward(fn: () => void): void {
  (active?.afterBackward ?? eagerAfterBackward).push(fn);
}
/** the hooks queued for this backward(), removed from the queue */
export function takeAfterBackward(): (() => void)[] {
  return (active?.afterBackward ?? eagerAfterBackward).splice(0);
}
