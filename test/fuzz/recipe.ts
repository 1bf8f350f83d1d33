// Fuzz recipes: a random program as plain data (inputs, then ops over earlier values), so that it
// can be printed, replayed through the public Tensor API, and shrunk by the minimizer. Every value's
// shape and dtype is known when it is generated: only well-typed programs are built.
export type DTypeName = 'float32' | 'int32';
export type Fill = 'normal' | 'special' | 'index' | 'int' | 'const';

/** `pos` (default: the input's index) seeds its values, so that shrinking a recipe keeps them */
export interface FuzzInput {
  shape: number[];
  dtype: DTypeName;
  fill: Fill;
  range?: number;
  pos?: number;
}

export type UnaryName =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'abs'
  | 'reciprocal'
  | 'relu'
  | 'sigmoid'
  | 'tanh'
  | 'square'
  | 'sign'
  | 'softmax'
  | 'logSoftmax';
export type BinaryName = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum';
export type CompareName = 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne';
export type ReduceName = 'sum' | 'mean' | 'amax' | 'amin';

export type FuzzOp =
  | { k: 'unary'; f: UnaryName; a: number }
  | { k: 'binary'; f: BinaryName; a: number; b: number }
  | { k: 'scalar'; f: 'add' | 'mul' | 'sub' | 'div' | 'pow'; a: number; c: number }
  | { k: 'where'; f: CompareName; a: number; b: number; x: number; y: number }
  | { k: 'reduce'; f: ReduceName; a: number; dims: number[] | null; keep: boolean }
  | { k: 'matmul'; a: number; b: number }
  | { k: 'reshape'; a: number; shape: number[] }
  | { k: 'permute'; a: number; order: number[] }
  | { k: 'expand'; a: number; shape: number[] }
  | { k: 'slice'; a: number; dim: number; start: number; end: number; step: number }
  | { k: 'pad'; a: number; pads: [number, number][] }
  | { k: 'gather'; a: number; dim: number; index: number }
  | { k: 'toInt'; a: number }
  | { k: 'toFloat'; a: number }
  | { k: 'clamp'; a: number; lo: number; hi: number };

export interface Value {
  shape: number[];
  dtype: DTypeName;
}
export interface GraphRecipe {
  kind: 'graph';
  seed: number;
  inputs: FuzzInput[];
  ops: FuzzOp[];
  /** shape and dtype of every value: inputs first, then one per op */
  values: Value[];
  outputs: number[];
}

/** a small deterministic generator (not the one under test): mulberry32 */
export function prng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)], chance: (p: number) => next() < p };
}
export type Prng = ReturnType<typeof prng>;

const UNARY: UnaryName[] = [
  'neg',
  'exp',
  'log',
  'sqrt',
  'abs',
  'reciprocal',
  'relu',
  'sigmoid',
  'tanh',
  'square',
  'sign',
  'softmax',
  'logSoftmax',
];
const BINARY: BinaryName[] = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'];
const COMPARE: CompareName[] = ['lt', 'le', 'gt', 'ge', 'eq', 'ne'];
const REDUCE: ReduceName[] = ['sum', 'mean', 'amax', 'amin'];

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** shapes that broadcast to `s`: some dims set to 1, some leading dims dropped */
function broadcastable(r: Prng, s: number[]): number[] {
  const drop = r.chance(0.3) ? r.int(s.length + 1) : 0;
  return s.slice(drop).map((d) => (r.chance(0.3) ? 1 : d));
}

/**
 * A random program. Most are small (dims 0..5); a few reduce large inputs (up to 1e7 elements) so
 * that accumulation order and precision are exercised; some have NaN/Inf/denormal inputs.
 */
export function randomGraphRecipe(seed: number): GraphRecipe {
  const r = prng(seed);
  const big = r.chance(0.02);
  const special = r.chance(0.25);
  const zeroDim = !big && r.chance(0.06);
  const rank = big ? 1 + r.int(2) : r.int(4);
  let base = Array.from({ length: rank }, () => 1 + r.int(5));
  if (big) {
    const n = r.pick([1e5, 1e6, 3e6, 1e7]);
    base = rank === 1 ? [n] : [r.pick([2, 3, 10]), Math.floor(n / 10)];
  }
  if (zeroDim && rank > 0) base[r.int(rank)] = 0;
  const inputs: FuzzInput[] = [],
    values: Value[] = [];
  // values are numbered in the order they are made; inputs made among the ops are moved first at the end
  const inputAt: number[] = [];
  const addInput = (inp: FuzzInput) => {
    inputs.push(inp);
    inputAt.push(values.length);
    values.push({ shape: inp.shape, dtype: inp.dtype });
  };
  addInput({ shape: base, dtype: 'float32', fill: big && r.chance(0.4) ? 'const' : special ? 'special' : 'normal' });
  if (!big) {
    addInput({
      shape: broadcastable(r, base),
      dtype: 'float32',
      fill: special && r.chance(0.5) ? 'special' : 'normal',
    });
    if (r.chance(0.5)) addInput({ shape: base, dtype: 'float32', fill: 'normal' });
  }
  const ops: FuzzOp[] = [];
  const push = (op: FuzzOp, v: Value) => {
    ops.push(op);
    values.push(v);
    return values.length - 1;
  };
  const floats = () =>
    values
      .map((v, i) => [v, i] as const)
      .filter(([v]) => v.dtype === 'float32')
      .map(([, i]) => i);
  const nOps = big ? 1 + r.int(3) : 3 + r.int(12);
  for (let i = 0; i < nOps; i++) {
    const pool = floats();
    const a = big ? values.length - 1 : r.pick(pool);
    const va = values[a];
    const choice = big ? r.pick(['unary', 'reduce', 'scalar']) : r.pick(KINDS);
    genOp(r, choice, a, va, values, push, addInput);
  }
  const last = values.length - 1;
  const outputs = [last];
  if (!big) {
    const other = inputs.length + r.int(Math.max(1, ops.length));
    if (other < values.length && other !== last) outputs.push(other);
  }
  if (big && values[last].shape.length > 0)
    outputs.push(
      push(
        { k: 'reduce', f: r.pick(REDUCE.slice(0, 2)), a: last, dims: null, keep: false },
        { shape: [], dtype: 'float32' },
      ),
    );
  return inputsFirst({ kind: 'graph', seed, inputs, ops, values, outputs }, inputAt);
}

function inputsFirst(rec: GraphRecipe, inputAt: number[]): GraphRecipe {
  const newIndex = new Map<number, number>(inputAt.map((v, i) => [v, i]));
  let next = inputAt.length;
  rec.values.forEach((_, v) => {
    if (!newIndex.has(v)) newIndex.set(v, next++);
  });
  const values: Value[] = new Array(rec.values.length);
  rec.values.forEach((val, v) => {
    values[newIndex.get(v)!] = val;
  });
  const at = (i: number) => newIndex.get(i)!;
  const ops = rec.ops.map((op) => {
    const o = { ...op } as Record<string, unknown>;
    for (const key of ['a', 'b', 'x', 'y', 'index']) if (typeof o[key] === 'number') o[key] = at(o[key] as number);
    return o as unknown as FuzzOp;
  });
  return { ...rec, ops, values, outputs: rec.outputs.map(at) };
}

const KINDS = [
  'unary',
  'unary',
  'binary',
  'binary',
  'scalar',
  'where',
  'reduce',
  'reduce',
  'matmul',
  'reshape',
  'permute',
  'expand',
  'slice',
  'pad',
  'gather',
  'int',
  'clamp',
] as const;

type Push = (op: FuzzOp, v: Value) => number;

function genOp(
  r: Prng,
  choice: string,
  a: number,
  va: Value,
  values: Value[],
  push: Push,
  addInput: (i: FuzzInput) => void,
): void {
  const s = va.shape,
    f32 = (shape: number[]): Value => ({ shape, dtype: 'float32' });
  const sameShape = values
    .map((v, i) => [v, i] as const)
    .filter(([v]) => v.dtype === 'float32' && v.shape.join() === s.join())
    .map(([, i]) => i);
  const toS = values
    .map((v, i) => [v, i] as const)
    .filter(([v]) => v.dtype === 'float32' && broadcastsTo(v.shape, s))
    .map(([, i]) => i);
  switch (choice) {
    case 'unary': {
      const f = r.pick(UNARY);
      if ((f === 'softmax' || f === 'logSoftmax') && s.length === 0) {
        return void push({ k: 'unary', f: 'tanh', a }, f32(s));
      }
      return void push({ k: 'unary', f, a }, f32(s));
    }
    case 'binary': {
      // the other operand: one of the same shape, or one that broadcasts to it
      const b = r.pick(r.chance(0.6) ? toS : sameShape);
      return void push({ k: 'binary', f: r.pick(BINARY), a, b }, f32(s));
    }
    case 'scalar': {
      const f = r.pick(['add', 'mul', 'sub', 'div', 'pow'] as const);
      const c = f === 'pow' ? r.pick([2, 3, 0.5, -1]) : r.pick([0.5, 2, -3, 1e-3, 7, 0]);
      return void push({ k: 'scalar', f, a, c }, f32(s));
    }
    case 'where': {
      const b = r.pick(sameShape),
        x = r.pick(sameShape),
        y = r.pick(sameShape);
      return void push({ k: 'where', f: r.pick(COMPARE), a, b, x, y }, f32(s));
    }
    case 'reduce': {
      const f = r.pick(REDUCE);
      const all = r.chance(0.3) || s.length === 0;
      const dims = all ? null : s.map((_, i) => i).filter(() => r.chance(0.5));
      const keep = r.chance(0.4);
      const red = dims ?? s.map((_, i) => i);
      // amax/amin over an empty dim is an error (tested elsewhere); sum/mean of empty are 0/NaN
      if ((f === 'amax' || f === 'amin') && red.some((d) => s[d] === 0)) {
        return void push({ k: 'unary', f: 'abs', a }, f32(s));
      }
      if (dims && dims.length === 0) return void push({ k: 'unary', f: 'neg', a }, f32(s));
      const out = keep ? s.map((d, i) => (red.includes(i) ? 1 : d)) : s.filter((_, i) => !red.includes(i));
      return void push({ k: 'reduce', f, a, dims, keep }, f32(out));
    }
    case 'matmul': {
      if (s.length < 1) return void push({ k: 'unary', f: 'relu', a }, f32(s));
      const kdim = s[s.length - 1],
        n = r.int(5);
      const bShape = s.length >= 2 && r.chance(0.3) ? [...s.slice(0, -2), kdim, n] : [kdim, n];
      const b = values.length;
      addInput({ shape: bShape, dtype: 'float32', fill: 'normal' });
      const out = s.length === 1 ? [n] : [...s.slice(0, -1), n];
      return void push({ k: 'matmul', a, b }, f32(out));
    }
    case 'reshape': {
      const n = numel(s);
      const shape = n === 0 ? [0, ...s.filter((d) => d !== 0)] : r.chance(0.5) ? [n] : factor(r, n);
      return void push({ k: 'reshape', a, shape }, f32(shape));
    }
    case 'permute': {
      const order = s.map((_, i) => i).sort(() => r.next() - 0.5);
      return void push({ k: 'permute', a, order }, f32(order.map((o) => s[o])));
    }
    case 'expand': {
      const shape = [...(r.chance(0.5) ? [1 + r.int(3)] : []), ...s.map((d) => (d === 1 ? 1 + r.int(4) : d))];
      return void push({ k: 'expand', a, shape }, f32(shape));
    }
    case 'slice': {
      if (s.length === 0) return void push({ k: 'unary', f: 'abs', a }, f32(s));
      const dim = r.int(s.length),
        n = s[dim];
      const start = r.int(n + 1),
        end = start + r.int(n - start + 1),
        step = 1 + r.int(2);
      const shape = [...s];
      shape[dim] = Math.ceil((end - start) / step);
      return void push({ k: 'slice', a, dim, start, end, step }, f32(shape));
    }
    case 'pad': {
      const pads = s.map(() => [r.int(2), r.int(2)] as [number, number]);
      return void push({ k: 'pad', a, pads }, f32(s.map((d, i) => d + pads[i][0] + pads[i][1])));
    }
    case 'gather': {
      if (s.length === 0 || s.some((d) => d === 0)) return void push({ k: 'unary', f: 'sigmoid', a }, f32(s));
      const dim = r.int(s.length);
      const shape = s.map((d, i) => (i === dim ? 1 + r.int(4) : 1 + r.int(d)));
      const index = values.length;
      addInput({ shape, dtype: 'int32', fill: 'index', range: s[dim] });
      return void push({ k: 'gather', a, dim, index }, f32(shape));
    }
    case 'int': {
      // a bounded cast (non-finite and huge values become 0 first), an int op, back to float
      const i = push({ k: 'toInt', a }, { shape: s, dtype: 'int32' });
      return void push({ k: 'toFloat', a: i }, f32(s));
    }
    case 'clamp': {
      const lo = r.pick([-1, -0.5, 0]),
        hi = lo + r.pick([0.5, 1, 2]);
      return void push({ k: 'clamp', a, lo, hi }, f32(s));
    }
  }
}

function broadcastsTo(b: readonly number[], s: readonly number[]): boolean {
  if (b.length > s.length) return false;
  const lead = s.length - b.length;
  return b.every((d, i) => d === 1 || d === s[lead + i]);
}

function factor(r: Prng, n: number): number[] {
  const divs = [2, 3, 4, 5].filter((d) => n % d === 0);
  if (!divs.length) return [n, 1];
  const d = r.pick(divs);
  return r.chance(0.5) ? [d, n / d] : [n / d, d];
}

/** the recipe as readable pseudo-code, for failure reports */
export function printRecipe(rec: GraphRecipe): string {
  const lines = rec.inputs.map(
    (inp, i) => `v${i} = input ${inp.dtype}[${inp.shape}] ` + `${inp.fill}${inp.range ? `<${inp.range}` : ''}`,
  );
  rec.ops.forEach((op, j) => {
    const { k, ...rest } = op;
    const v = rec.values[rec.inputs.length + j];
    lines.push(`v${rec.inputs.length + j} = ${k} ${JSON.stringify(rest)}  -> ${v.dtype}[${v.shape}]`);
  });
  lines.push(`outputs ${rec.outputs.map((o) => `v${o}`).join(', ')}`);
  return lines.join('\n');
}
