// Kernel IR as readable pseudo-code, for `kiln inspect`, test failures and renderer authors.
import type { Expr, Kernel, KernelProgram, Stmt } from '../ir/kernel.js';
import { numel } from '../ir/graph.js';
import { printStrategy } from './opt.js';

const SYM: Record<string, string> = {
  add: '+',
  sub: '-',
  mul: '*',
  div: '/',
  idiv: '/',
  mod: '%',
  lt: '<',
  le: '<=',
  gt: '>',
  ge: '>=',
  eq: '==',
  ne: '!=',
  and: '&&',
  or: '||',
};

export function printExpr(e: Expr): string {
  switch (e.e) {
    case 'const':
      return e.type === 'f32' && Number.isInteger(e.value) ? `${e.value}.0` : String(e.value);
    case 'var':
      return e.name;
    case 'load':
      return `b${e.buf}[${printExpr(e.index)}]`;
    case 'scalar':
      return `s${e.slot}`;
    case 'unary':
      return `${e.fn}(${printExpr(e.a)})`;
    case 'cast':
      return `${e.type}(${printExpr(e.a)})`;
    case 'where':
      return `(${printExpr(e.cond)} ? ${printExpr(e.a)} : ${printExpr(e.b)})`;
    case 'binary':
      return SYM[e.fn]
        ? `(${printExpr(e.a)} ${SYM[e.fn]} ${printExpr(e.b)})`
        : `${e.fn}(${printExpr(e.a)}, ${printExpr(e.b)})`;
    case 'fma':
      return `fma(${printExpr(e.a)}, ${printExpr(e.b)}, ${printExpr(e.c)})`;
    case 'random':
      return `${e.dist}#${e.draw}(${printExpr(e.index)}; ${e.pieces.map(printExpr).join(', ')})`;
  }
}

function printStmts(ss: readonly Stmt[], ind: string, out: string[], accs = new Map<string, string>()): void {
  for (const s of ss) {
    switch (s.s) {
      case 'let':
        out.push(`${ind}${s.name} = ${printExpr(s.value)}`);
        break;
      case 'store':
        out.push(`${ind}b${s.buf}[${printExpr(s.index)}] = ${printExpr(s.value)}`);
        break;
      case 'acc':
        accs.set(s.name, s.fn);
        out.push(`${ind}${s.name}: ${s.type} = ${s.init} (${s.fn}${s.scheme ? `, ${s.scheme}` : ''})`);
        break;
      case 'accum':
        out.push(`${ind}${s.name} ${accs.get(s.name) === 'max' ? 'max=' : '+='} ${printExpr(s.value)}`);
        break;
      case 'loop':
        out.push(`${ind}for ${s.var} < ${s.extent}${s.reduce ? ' (reduce)' : ''}:`);
        printStmts(s.body, ind + '  ', out, accs);
        break;
    }
  }
}

export function printKernel(k: Kernel): string {
  // a guarded kernel runs only when the named scalar slots are (or are not) all equal this step
  const when = k.when
    ? `  when ${k.when.is ? '' : 'not '}equal(${k.when.equal.map((g) => `s${g.join('=s')}`).join(', ')})`
    : '';
  const out = [
    `kernel ${k.name} grid[${k.grid}]${when}  # ${k.meta.ops.join(',')}${k.meta.reason ? ` (${k.meta.reason})` : ''}`,
    ...(k.strategy ? [`  strategy: ${printStrategy(k.strategy)}`] : []),
  ];
  printStmts(k.body, '  ', out);
  return out.join('\n');
}

export function printKernelProgram(p: KernelProgram): string {
  const bufs = p.buffers.map((b, i) => `b${i}: ${b.kind} ${b.name} ${b.dtype}[${b.size}]`);
  const cells = p.cells.map((c) => `${c.name} (cell ${c.cell}) = b${c.buf}[${c.offset}..${c.offset + numel(c.shape)})`);
  return [...bufs, ...cells, ...p.kernels.map(printKernel)].join('\n');
}
