// nn.parallel.DistributedDataParallel, as PyTorch 1.13's: wrapping a module broadcasts its
// parameters and buffers from rank 0, so every rank starts from the same weights; a forward in
// training mode makes the next backward() average every gradient over the ranks. Inside a compiled
// step the average is an `allreduce` node per gradient (op 'avg'), grouped in PyTorch's buckets as its
// Reducer rebuilds them after the first iteration (gradients in the order they are ready, i.e. parameters in
// reverse, the first bucket closing past 1 MiB, the next past bucketCapMb; PyTorch 1.13's first iteration
// uses one bucket; the numbers do not depend on it): the scheduler stores each
// bucket's gradients back to back (the gradient arena) and runs ONE collective per bucket between
// the backward kernels and the optimizer's update, started as soon as its last gradient is computed
// (compiler/kernel/collectives.ts). Outside a trace the same average runs on the host gradients.
import { KilnError } from '../errors.js';
import { makeNode } from '../ir/graph.js';
import { checkOptions } from '../options.js';
import { Tensor } from '../tensor.js';
import { afterNextBackward, currentTrace, type Trace } from '../trace-context.js';
import { allReduced, newBucket } from '../distributed/traced.js';
import {
  NO_PROCESS_GROUP,
  allReduceInPlace,
  processGroup,
  type ProcessGroup,
} from '../../runtime/distributed/group.js';
import { Module } from './module.js';
import type { Parameter } from './parameter.js';

export interface DistributedDataParallelOptions {
  /** the bucket size past the first, in MiB (PyTorch's bucket_cap_mb, default 25) */
  bucketCapMb?: number;
  /** broadcast rank 0's buffers (BatchNorm statistics) at wrap time, as its parameters (default true) */
  broadcastBuffers?: boolean;
}

/** PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES */
const FIRST_BUCKET_BYTES = 1 << 20;

export class DistributedDataParallel<M extends Module = Module> extends Module {
  readonly module: M;
  readonly bucketCapMb: number;
  private readonly group: ProcessGroup;
  private syncing = true;
  private queued: Trace | 'eager' | null = null;

  constructor(module: M, opts: DistributedDataParallelOptions = {}) {
    super();
    checkOptions('DistributedDataParallel', opts, ['bucketCapMb', 'broadcastBuffers']);
    if (!(module instanceof Module)) throw new KilnError('DistributedDataParallel: module must be an nn.Module');
    const group = processGroup();
    if (!group) throw new KilnError(NO_PROCESS_GROUP);
    const cap = opts.bucketCapMb ?? 25;
    if (!(typeof cap === 'number' && cap > 0)) {
      throw new KilnError(`DistributedDataParallel: bucketCapMb must be a positive number, got ${String(cap)}`);
    }
    this.group = group;
    this.bucketCapMb = cap;
    this.module = module;
    // every rank starts from rank 0's state (PyTorch's _sync_module_states)
    for (const p of module.parameters()) {
      const v = Float32Array.from(p.data);
      group.broadcast(v, 0);
      p.data = v;
    }
    if (opts.broadcastBuffers ?? true)
      for (const b of module.buffers()) {
        const v = b.data instanceof Float32Array ? Float32Array.from(b.data) : Int32Array.from(b.data);
        group.broadcast(v, 0);
        b.data = v;
      }
  }

  forward(...args: Parameters<M['forward']>): ReturnType<M['forward']> {
    if (this.syncing && this.training) {
      const here = currentTrace() ?? 'eager';
      if (this.queued !== here) {
        this.queued = here;
        afterNextBackward(() => {
          this.queued = null;
          this.reduceGradients();
        });
      }
    }
    return this.module.forward(...args) as ReturnType<M['forward']>;
  }

  /**
   * PyTorch's `no_sync()`: backward passes of forwards run inside `fn` accumulate local gradients
   * without averaging them (gradient accumulation); the next forward outside it averages the sum
   */
  noSync<T>(fn: () => T): T {
    const was = this.syncing;
    this.syncing = false;
    try {
      return fn();
    } finally {
      this.syncing = was;
    }
  }

  /** the gradient buckets: parameter lists, in the order their collectives start */
  buckets(): Parameter[][] {
    const params = this.module.parameters().filter((p) => p.requiresGrad);
    const out: Parameter[][] = [];
    let cur: Parameter[] = [],
      bytes = 0;
    for (const p of [...params].reverse()) {
      cur.push(p);
      bytes += 4 * p.numel();
      if (bytes >= (out.length ? this.bucketCapMb * (1 << 20) : FIRST_BUCKET_BYTES)) {
        out.push(cur);
        cur = [];
        bytes = 0;
      }
    }
    if (cur.length) out.push(cur);
    // within a bucket, parameter order: the state layout's gradient group is in parameter order
    return out.map((b) => b.reverse());
  }

  private reduceGradients(): void {
    const trace = currentTrace();
    for (const bucket of this.buckets()) {
      const id = trace ? newBucket(trace) : 0;
      for (const p of bucket) {
        const g = p.grad;
        if (!g) continue; // unused in this forward (PyTorch needs find_unused_parameters for it)
        if (trace) {
          p.grad = allReduced(g, 'avg', id);
        } else {
          const v = Float32Array.from(g.data);
          allReduceInPlace(this.group, v, 'avg');
          p.grad = Tensor.fromNode(makeNode('data', [], g.shape, 'float32', { values: v }));
        }
      }
    }
  }
}
