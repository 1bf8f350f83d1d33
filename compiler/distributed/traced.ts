// The compiled step's collectives as the DSL makes them: an `allreduce` node (compiler/ir/graph.ts) per value,
// the values of one bucket reduced by ONE collective between kernels (compiler/kernel/collectives.ts).
// DistributedDataParallel averages its gradients with them, distributed.allReduce sums a traced tensor.
import { userSite } from '../errors.js';
import { makeNode } from '../ir/graph.js';
import { Tensor } from '../tensor.js';
import type { Trace } from '../trace-context.js';

/** a bucket number no other collective of this trace has */
export const newBucket = (trace: Trace): number => trace.buckets++;

/** `t` (float32) reduced elementwise across the ranks inside the compiled step, as a value of `bucket` */
export function allReduced(t: Tensor, op: 'sum' | 'avg', bucket: number): Tensor {
  return Tensor.fromNode(makeNode('allreduce', [t.node], t.shape, 'float32', { op, bucket }, userSite()));
}
