// Per-parameter host scalars are free when equal (implemented: lower.ts concatFlat). Adam keeps a
// step counter per parameter (PyTorch: a parameter whose grad is None skips a step), so each
// segment of the multi-tensor kernel reads its own bias-correction slots, picked per element by a
// `where(g0 < start, ..)` tree. Measured on native, Adam over 1e6 elements in 10 parameters
// (scratch/adam10.ts, noisy 2-core machine): select tree 27-54 GB/s; segment 0's slots everywhere
// 66-135 GB/s. A `where(flag, shared, tree)` in the kernel does not help (both arms are computed;
// LLVM does not unswitch a select), and trace-time CSE of "identical update histories" is unsound
// (counters' entry values differ once another program skipped a parameter or load_state_dict set
// them). So concatFlat emits a guarded PAIR back to back: `fast` (segment 0's slots, no tree) with
// `when: { equal: slots per role, is: true }`, `general` (the tree) with `is: false`. The launch
// guard (runtime/manifest.ts guardHolds) compares the step's float32 scalars bit for bit at launch
// time: the reference interpreter, the LLVM entry `kiln_run` (a branch in the generated code),
// WebGPU (skips the dispatch; scalars are on the host) all honour it; manifests carry `when`.
// This differs from the first design (a host-program flag slot): the guard reads the emitted
// scalars themselves, so the host program and compile.ts are unchanged. programStats counts both
// kernels but one launch (launchesPerRun, flops, bytesPerRun skip the `is: false` alternative).
// test/golden-optim.test.ts (parameter 3 without grad at step 7) runs the general one from step 7
// on, on every target; test/multi-guard.test.ts checks which variant runs.
// Rule 2 of the scheduler (compiler/kernel/schedule.ts): multi-tensor apply. An optimizer step
// is, per parameter, a cluster of elementwise stages over same-sized values (m', v', p', and
// `p.grad <- input` when gradients are inputs); clusters of identical structure become ONE
// kernel over the concatenation of their elements (lower.ts: concatFlat). What joins a cluster:
//   a. stages writing a cell, pure elementwise at their own element (identity), no reductions; a
//      one-element value read by every element (clipGradNorm_'s scale) is a broadcast load, left in place
//      when the clusters concatenate, so clipping is folded into the update (lower.ts flatAccess);
//   b. but a pure move of a value this program computes (a batch-1 bias grad that is a view of
//      a stored gradient, a late copy from scratch) stays in its producer's kernel, so the
//      clusters of a weight and of a bias have the same structure; unless the cluster reads that
//      value anyway (SGD's first step: momentum_buffer = grad.clone()). Moves of sources
//      (p.grad = input) do join: with inputs packed by role (assemble.ts) they are the same for
//      every parameter;
//   c. elementwise temporaries (e.g. the weight-decayed gradient, used by m' and v') whose every
//      reader is in the cluster: computed in registers at the same element, never stored (local);
//   d. stages are connected when one reads the other's value or both read the same value (the
//      grad input and its copy into the grad cell);
//   e. structure = the walk that lowers the cluster over a flat index (clusterKey), with buffers
//      named by memory kind (state, scratch, inputs by dtype): offsets and host-scalar slots may
//      differ per segment;
//   f. clusters joined in one kernel must not depend on each other through other stages.
import type { Node } from '../ir/graph.js';
import type { Expr } from '../ir/kernel.js';
import { exprChildren, readsVar } from '../ir/kernel.js';
import { Walk, type Guard, type Scope, type Sink } from './emit.js';
import { flatten, type Ix } from './index-algebra.js';
import { flatAccess } from './lower.js';
import type { SStage } from './stages.js';
import { exprKey } from './structure.js';
import { isReduce, numel } from '../ir/graph.js';
import { storageOf, type StorageDType } from '../../runtime/manifest.js';

/** units of clusters: each unit becomes one multi-tensor kernel */
export function clusterUpdates(
  stages: SStage[],
  primary: Map<number, SStage>,
  prio: (s: SStage) => number,
  uses: (n: Node) => number,
): SStage[][][] {
  const readers = new Map<number, SStage[]>();
  for (const s of stages) for (const l of s.loads) readers.set(l.node.id, [...(readers.get(l.node.id) ?? []), s]);
  // a value a collective reduces is stored by a kernel before the collective, never in an update's
  const elementwise = (s: SStage) => s.identity && !s.ops.some(isReduce) && s.collective === undefined;
  const moveOfComputed = (s: SStage) => !s.ops.length && s.loads.some((l) => primary.has(l.node.id));
  const arith = stages.filter((s) => s.dest.kind === 'cell' && elementwise(s) && !moveOfComputed(s));
  const readByArith = new Set(arith.flatMap((s) => s.loads.map((l) => l.node.id)));
  const moves = stages.filter(
    (s) =>
      s.dest.kind === 'cell' && elementwise(s) && moveOfComputed(s) && s.loads.every((l) => readByArith.has(l.node.id)),
  );
  const updates = [...arith, ...moves];
  const upd = new Set(updates.map((s) => s.id));
  const temps = stages.filter(
    (s) =>
      s.dest.kind === 'scratch' &&
      !s.copy &&
      elementwise(s) &&
      s.ops.length > 0 &&
      (readers.get(s.node.id) ?? []).every((r) => upd.has(r.id)),
  );
  const cand = [...updates, ...temps];
  const candIds = new Set(cand.map((s) => s.id));

  const comp = new Map<number, number>();
  const find = (x: number): number => {
    while (comp.get(x)! !== x) x = comp.get(x)!;
    return x;
  };
  const union = (a: number, b: number) => comp.set(find(a), find(b));
  for (const s of cand) comp.set(s.id, s.id);
  const byRead = new Map<number, number>();
  for (const s of cand)
    for (const l of s.loads) {
      const p = primary.get(l.node.id);
      if (p && p !== s && candIds.has(p.id)) union(p.id, s.id);
      // a scalar that every parameter's update reads (the clipping coefficient) does not make them one cluster
      if (numel(l.node.shape) === 1 && numel(s.node.shape) > 1) continue;
      const first = byRead.get(l.node.id);
      if (first === undefined) byRead.set(l.node.id, s.id);
      else union(first, s.id);
    }
  const groups = new Map<number, SStage[]>();
  for (const s of cand) {
    const r = find(s.id);
    groups.set(r, [...(groups.get(r) ?? []), s]);
  }

  const memory = (n: Node): Memory | undefined => {
    const p = primary.get(n.id);
    if (p?.local) return undefined;
    return p || n.op === 'input' || n.op === 'state' ? memoryOf(n, primary) : undefined;
  };
  const byKey = new Map<string, SStage[][]>();
  for (const g of groups.values()) {
    g.sort((a, b) => prio(a) - prio(b));
    if (!g.some((s) => s.dest.kind === 'cell') || !g.every((s) => numel(s.node.shape) === numel(g[0].node.shape)))
      continue;
    for (const s of g) s.local = s.dest.kind === 'scratch';
    const key = clusterKey(g, memory, uses);
    if (key === null) {
      for (const s of g) s.local = false;
      continue;
    }
    byKey.set(key, [...(byKey.get(key) ?? []), g]);
  }
  const units: SStage[][][] = [];
  for (const clusters of byKey.values()) {
    const unit: SStage[][] = [];
    const joined = new Independent(stages);
    for (const c of clusters) {
      if (joined.tryAdd(c)) unit.push(c);
      else units.push([c]);
    }
    if (unit.length) units.push(unit);
  }
  return units;
}

/**
 * Clusters none of which reaches another through the stages' dependencies (rule f). Adding one
 * walks its ancestors that are not already the members' ancestors, so the successful adds of a unit
 * of thousands of clusters (a deep network's parameters) walk each stage once between them.
 */
class Independent {
  private readonly member: Uint8Array;
  private readonly ancestor: Uint8Array; // of some member
  private readonly seen: Int32Array; // walk stamps
  private stamp = 0;
  constructor(private readonly stages: SStage[]) {
    this.member = new Uint8Array(stages.length);
    this.ancestor = new Uint8Array(stages.length);
    this.seen = new Int32Array(stages.length);
  }

  tryAdd(c: SStage[]): boolean {
    const mine = ++this.stamp,
      walked: number[] = [];
    for (const s of c) if (this.ancestor[s.id]) return false; // a member reaches c
    for (const todo = c.map((s) => s.id); todo.length;) {
      for (const d of this.stages[todo.pop()!].deps) {
        if (this.seen[d] === mine) continue;
        if (this.member[d]) return false; // c reaches a member
        this.seen[d] = mine;
        // an ancestor of a member: every stage it reaches is one too, and none is a member (members
        // are independent), so the walk need not go on through it
        if (this.ancestor[d]) continue;
        walked.push(d);
        todo.push(d);
      }
    }
    for (const s of c) this.member[s.id] = 1;
    for (const d of walked) this.ancestor[d] = 1;
    return true;
  }
}

/**
 * The kind of memory a node lives in before the memory plan exists: the buffer identity of a
 * cluster's structural key (inputs of one role share a buffer: assemble.ts packs them). `local`:
 * a value of the cluster computed in registers, so a copy of it stores from registers
 */
type Memory = `${'state' | 'scratch' | 'input'}:${StorageDType}` | `output:${number}` | 'local';

function memoryOf(n: Node, primary: Map<number, SStage>): Memory {
  const t = primary.get(n.id)?.dest;
  if (t?.kind === 'output') return `output:${t.index}`;
  const kind = !t ? (n.op === 'input' ? 'input' : 'state') : t.kind === 'cell' ? 'state' : 'scratch';
  return `${kind}:${storageOf(n.dtype)}`;
}

/**
 * A cluster's structure (rule e): the walk lowerFlat (lower.ts) lowers it with, over one flat grid
 * variable, its statements written as lowerFlat's key (structure.ts, accesses left out) with each
 * buffer named by its kind of memory. Null where lowerFlat finds no flat part: a loop or reduction,
 * a random draw or a value of the grid variable (both depend on the index within the part), an
 * access that is not g0 plus a constant. Clusters of one key differ only in offsets and host-scalar slots.
 */
function clusterKey(g: SStage[], memory: (n: Node) => Memory | undefined, uses: (n: Node) => number): string | null {
  const sink = new KeySink(memory, numel(g[0].node.shape));
  const walk = new Walk(sink, uses);
  const top: Scope = { memo: new Map(), parent: null };
  for (const s of g) {
    const { value, idx } = walk.compute(s, 1, top, true);
    if (!s.local) sink.store(s.node, memory(s.node) ?? 'local', idx, value);
  }
  return sink.flat ? sink.stmts.join(';') : null;
}

const hasRandom = (e: Expr): boolean => e.e === 'random' || exprChildren(e).some(hasRandom);
/**
 * a value computed from the grid variable itself (an iota: tril's mask, a one-hot compare): its value depends on
 * the element's position within its own tensor, which a concatenated grid shifts, and only accesses are re-offset
 */
const readsGrid = (e: Expr): boolean => readsVar(e, (name) => /^g\d+$/.test(name));

/** the statements of a flat cluster as structure.ts's keys, and whether it is flat */
class KeySink implements Sink<Scope> {
  readonly stmts: string[] = [];
  flat = true;
  constructor(
    private memory: (n: Node) => Memory | undefined,
    private n: number,
  ) {}

  // as in lowerFlat, which has no source homes: a stage computes its own node, a copy loads it
  reads(n: Node, self: boolean): boolean {
    return !self && this.memory(n) !== undefined;
  }

  load(_blk: Scope, name: string, n: Node, idx: Ix[], guard: Guard): Expr {
    if (guard) this.flat = false;
    else this.access(flatten(idx, n.shape), 'load');
    const storage = storageOf(n.dtype),
      load = `load:${storage}[${this.memory(n)}]()`;
    this.stmts.push(`let ${name}=${n.dtype === 'bool' ? `cast:bool(${load})` : load}`);
    return { e: 'var', type: n.dtype === 'bool' ? 'bool' : storage, name };
  }

  let(_blk: Scope, name: string, value: Expr): void {
    if (hasRandom(value) || readsGrid(value)) this.flat = false;
    this.stmts.push(`let ${name}=${exprKey(value, { accesses: true })}`);
  }

  loop(blk: Scope): Scope {
    this.flat = false;
    return { memo: new Map(), parent: blk };
  }
  acc(): void {
    this.flat = false;
  }
  accum(): void {
    this.flat = false;
  }

  store(n: Node, m: Memory, idx: Ix[], value: Expr): void {
    const stored: Expr = n.dtype === 'bool' ? { e: 'cast', type: 'i32', a: value } : value;
    if (hasRandom(stored) || readsGrid(stored)) this.flat = false;
    this.access(flatten(idx, n.shape), 'store');
    this.stmts.push(`store[${m}]()=${exprKey(stored, { accesses: true })}`);
  }

  private access(ix: Ix, kind: 'load' | 'store'): void {
    if (flatAccess(ix, this.n, kind) === null) this.flat = false;
  }
}
