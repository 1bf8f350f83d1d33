// Stage analysis for the scheduler: the walk that lowers a stage (emit.ts's Walk), with its
// statements replaced by what they cost. Each statement costs what kernelCost (stats.ts) measures
// of it in kernel IR: its expression's float ops and loads, times the extents of the loops around
// it (a load is a let of a load; a store writes one value; an accumulation adds one). So a stage's
// `work` is what its lowered kernel would measure, with no kernel IR built and no buffers chosen.
import type { Node, NodeOf, ReduceOp } from '../ir/graph.js';
import { numel } from '../ir/graph.js';
import type { Expr } from '../ir/kernel.js';
import { squeezed, Walk, type Load, type Scope, type Sink } from './emit.js';
import { exprCost, type KernelCost } from './stats.js';

export interface StageAnalysis {
  /** the stored values the stage reads, at which index of their own shape */
  loads: Load[];
  /** the ops it computes, in the order lowering emits them */
  ops: string[];
  /** flops + 4-byte words moved over its whole iteration space */
  work: number;
}

/** a block of the walk: the grid points times the iterations of its enclosing loops */
interface CostScope extends Scope {
  parent: CostScope | null;
  points: number;
}

const isSource = (n: Node) => n.op === 'input' || n.op === 'state';

class CostSink implements Sink<CostScope> {
  readonly cost: KernelCost = { flops: 0, bytesRead: 0, bytesWritten: 0 };
  constructor(private stored: (n: Node) => boolean) {}

  reads(n: Node, self: boolean): boolean {
    return self ? isSource(n) : this.stored(n);
  }

  /**
   * A load's index is i32 arithmetic under a bool guard: only its four bytes count. Its value is
   * typed f32 unless it is a bool, so arithmetic on a loaded int32 counts as float ops: the cost
   * model the fusion decisions were tuned with (typing it i32 changes the kernels of a batch-64 MLP).
   */
  load(blk: CostScope, name: string, n: Node): Expr {
    this.cost.bytesRead += 4 * blk.points;
    return { e: 'var', type: n.dtype === 'bool' ? 'bool' : 'f32', name };
  }

  let(blk: CostScope, _name: string, value: Expr): void {
    exprCost(value, blk.points, this.cost);
  }

  loop(blk: CostScope, _v: string, extent: number): CostScope {
    return { memo: new Map(), parent: blk, points: blk.points * extent };
  }

  acc(_blk: CostScope, _name: string, _n: NodeOf<ReduceOp>): void {}

  accum(blk: CostScope, _name: string, value: Expr): void {
    this.cost.flops += blk.points;
    exprCost(value, blk.points, this.cost);
  }

  store(blk: CostScope, value: Expr): void {
    this.cost.bytesWritten += 4 * blk.points;
    exprCost(value, blk.points, this.cost);
  }
}

/**
 * One stage over its own shape, every iteration dim a grid dim (as a kernel of its own would
 * be): `stored` says which other nodes it reads from memory; a copy reads its own node there too.
 */
export function analyzeStage(
  node: Node,
  copy: boolean,
  stored: (n: Node) => boolean,
  uses: (n: Node) => number,
): StageAnalysis {
  const sink = new CostSink(stored);
  const walk = new Walk(sink, uses);
  const top: CostScope = { memo: new Map(), parent: null, points: numel(node.shape) };
  const { value, blk } = walk.compute({ node, copy }, squeezed(node.shape).length, top);
  sink.store(blk, value);
  const { flops, bytesRead, bytesWritten } = sink.cost;
  return { loads: walk.loads, ops: walk.ops, work: flops + (bytesRead + bytesWritten) / 4 };
}
