// The host program: scalar float64 arithmetic that runs on the CPU before a step's kernels.
// PyTorch computes Adam's bias corrections and step sizes in Python floats (float64) and only
// then hands them to float32 kernels; kiln does the same, so the runtime evaluates this tiny
// program per run and uploads the float32 results ("scalars") that kernels read.

export type HostExpr =
  | { k: 'num'; v: number }
  | { k: 'var'; i: number }
  | { k: 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min'; a: HostExpr; b: HostExpr }
  | { k: 'sqrt' | 'neg' | 'floor'; a: HostExpr };

export type HostStmt =
  | { k: 'set'; v: number; e: HostExpr } // vars[v] = e   (persistent: step counters, ...)
  | { k: 'emit'; s: number; e: HostExpr }; // scalars[s] = float32(e)

export interface HostVar {
  name: string;
  init: number;
}

export interface HostProgram {
  vars: HostVar[];
  stmts: HostStmt[];
  scalarCount: number;
}

export function evalHostExpr(e: HostExpr, vars: ArrayLike<number>): number {
  switch (e.k) {
    case 'num':
      return e.v;
    case 'var':
      return vars[e.i];
    case 'neg':
      return -evalHostExpr(e.a, vars);
    case 'sqrt':
      return Math.sqrt(evalHostExpr(e.a, vars));
    case 'floor':
      return Math.floor(evalHostExpr(e.a, vars));
    default: {
      const a = evalHostExpr(e.a, vars),
        b = evalHostExpr(e.b, vars);
      switch (e.k) {
        case 'add':
          return a + b;
        case 'sub':
          return a - b;
        case 'mul':
          return a * b;
        case 'div':
          return a / b;
        case 'pow':
          return Math.pow(a, b);
        case 'max':
          return Math.max(a, b);
        case 'min':
          return Math.min(a, b);
      }
    }
  }
}

type Thunk = (vars: Float64Array) => number;

function compileExpr(e: HostExpr): Thunk {
  switch (e.k) {
    case 'num': {
      const v = e.v;
      return () => v;
    }
    case 'var': {
      const i = e.i;
      return (vars) => vars[i];
    }
    case 'neg': {
      const a = compileExpr(e.a);
      return (vars) => -a(vars);
    }
    case 'sqrt': {
      const a = compileExpr(e.a);
      return (vars) => Math.sqrt(a(vars));
    }
    case 'floor': {
      const a = compileExpr(e.a);
      return (vars) => Math.floor(a(vars));
    }
    default: {
      const a = compileExpr(e.a),
        b = compileExpr(e.b);
      switch (e.k) {
        case 'add':
          return (v) => a(v) + b(v);
        case 'sub':
          return (v) => a(v) - b(v);
        case 'mul':
          return (v) => a(v) * b(v);
        case 'div':
          return (v) => a(v) / b(v);
        case 'pow':
          return (v) => Math.pow(a(v), b(v));
        case 'max':
          return (v) => Math.max(a(v), b(v));
        case 'min':
          return (v) => Math.min(a(v), b(v));
      }
    }
  }
}

/**
 * Math.pow remembering its last two results. Adam keeps one step counter per parameter, all equal,
 * so a step computes beta1^t and beta2^t once per parameter with the same arguments: 3 in 4 calls
 * hit. Exact: pow is a pure function of its two doubles (a zero base is never cached, since
 * ±0 compare equal but pow tells them apart).
 */
function memoPow(): (a: number, b: number) => number {
  let a0 = NaN,
    b0 = NaN,
    r0 = 0,
    a1 = NaN,
    b1 = NaN,
    r1 = 0;
  return (a, b) => {
    if (a === a0 && b === b0 && a !== 0) return r0;
    if (a === a1 && b === b1 && a !== 0) return r1;
    const r = Math.pow(a, b);
    a1 = a0;
    b1 = b0;
    r1 = r0;
    a0 = a;
    b0 = b;
    r0 = r;
    return r;
  };
}

/** a number as JavaScript source that evaluates to exactly it, or undefined (NaN, ±Infinity, -0) */
function numberSource(v: number): string | undefined {
  if (!Number.isFinite(v) || Object.is(v, -0)) return undefined;
  return v < 0 ? `(${String(v)})` : String(v); // String() round-trips every finite double
}

function exprSource(e: HostExpr, consts: number[]): string {
  switch (e.k) {
    case 'num': {
      const src = numberSource(e.v);
      if (src !== undefined) return src;
      consts.push(e.v);
      return `k[${consts.length - 1}]`;
    }
    case 'var':
      return `v[${e.i | 0}]`;
    case 'neg':
      return `(-${exprSource(e.a, consts)})`;
    case 'sqrt':
      return `sqrt(${exprSource(e.a, consts)})`;
    case 'floor':
      return `floor(${exprSource(e.a, consts)})`;
    case 'pow':
      return `pow(${exprSource(e.a, consts)}, ${exprSource(e.b, consts)})`;
    case 'max':
      return `max(${exprSource(e.a, consts)}, ${exprSource(e.b, consts)})`;
    case 'min':
      return `min(${exprSource(e.a, consts)}, ${exprSource(e.b, consts)})`;
    default: {
      const op = ({ add: '+', sub: '-', mul: '*', div: '/' } as const)[e.k];
      if (!op) throw new Error(`host program: unknown expression ${(e as { k: string }).k}`);
      return `(${exprSource(e.a, consts)} ${op} ${exprSource(e.b, consts)})`;
    }
  }
}

/**
 * The host program as straight-line JavaScript (`new Function`): one statement per host
 * statement, the same float64 operations in the same order as `runHostProgram`. Returns
 * undefined where code generation is forbidden (a CSP without 'unsafe-eval').
 */
export function generateHostProgram(p: HostProgram): ((vars: Float64Array, scalars: Float32Array) => void) | undefined {
  const consts: number[] = [];
  const body = p.stmts.map((s) =>
    s.k === 'set' ? `v[${s.v | 0}] = ${exprSource(s.e, consts)};` : `s[${s.s | 0}] = ${exprSource(s.e, consts)};`,
  );
  try {
    const make = new Function(
      'k',
      'pow',
      'sqrt',
      'max',
      'min',
      'floor',
      `"use strict";\nreturn function kilnHostProgram(v, s) {\n${body.join('\n')}\n};`,
    );
    return make(Float64Array.from(consts), memoPow(), Math.sqrt, Math.max, Math.min, Math.floor);
  } catch {
    return undefined;
  }
}

/**
 * The host program compiled once: generated straight-line code where `new Function` is allowed,
 * else one closure per statement (a step of a small model takes microseconds: no tree walk).
 */
export function compileHostProgram(p: HostProgram): (vars: Float64Array, scalars: Float32Array) => void {
  return generateHostProgram(p) ?? compileHostClosures(p);
}

/** the closure version (the fallback without `new Function`) */
export function compileHostClosures(p: HostProgram): (vars: Float64Array, scalars: Float32Array) => void {
  const steps = p.stmts.map((s) => ({ set: s.k === 'set', at: s.k === 'set' ? s.v : s.s, f: compileExpr(s.e) }));
  return (vars, scalars) => {
    for (let i = 0; i < steps.length; i++) {
      const st = steps[i];
      const v = st.f(vars);
      if (st.set) vars[st.at] = v;
      else scalars[st.at] = v;
    }
  };
}

/** Runs the statements in order, updating `vars` in place and filling `scalars`. */
export function runHostProgram(p: HostProgram, vars: Float64Array, scalars: Float32Array): void {
  for (const s of p.stmts) {
    const v = evalHostExpr(s.e, vars);
    if (s.k === 'set') vars[s.v] = v;
    else scalars[s.s] = v; // Float32Array storage rounds to float32, as PyTorch's scalar cast does
  }
}

export function printHostExpr(e: HostExpr, names: (i: number) => string = (i) => `v${i}`): string {
  switch (e.k) {
    case 'num':
      return String(e.v);
    case 'var':
      return names(e.i);
    case 'neg':
      return `-(${printHostExpr(e.a, names)})`;
    case 'sqrt':
      return `sqrt(${printHostExpr(e.a, names)})`;
    case 'floor':
      return `floor(${printHostExpr(e.a, names)})`;
    case 'max':
    case 'min':
    case 'pow':
      return `${e.k}(${printHostExpr(e.a, names)}, ${printHostExpr(e.b, names)})`;
    default: {
      const sym = { add: '+', sub: '-', mul: '*', div: '/' }[e.k];
      return `(${printHostExpr(e.a, names)} ${sym} ${printHostExpr(e.b, names)})`;
    }
  }
}
