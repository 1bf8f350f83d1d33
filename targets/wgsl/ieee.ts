// IEEE-754 special values in WGSL. WGSL lets implementations assume finite floats, and they do:
// on Mesa llvmpipe `x * 0.0`, `x - x` and `x / 0.0` fold to 0 and `max` drops a NaN, so a run
// that diverged would read as finite. PyTorch gives IEEE results (x/0 = ±inf, 0/0 = 0·inf =
// inf - inf = NaN, NaN through max/min), so the float arithmetic the kernels do goes through these
// helpers: the finite case is the plain operation (same rounding), and every other case is decided
// on the operands' bits, integer tests that no float assumption can fold away.
// The helpers return NaN and infinities built by bitcast at run time (kiln_nan, kiln_inf: a
// const-expression that overflows is a shader-creation error).

const EXP = '0x7f800000u';

/** helper name -> WGSL source (kiln_nan is expr.ts's) */
export const IEEE_HELPERS = {
  kiln_add: `fn kiln_add(a: f32, b: f32) -> f32 {
  let ua = bitcast<u32>(a); let ub = bitcast<u32>(b);
  let ea = ua & 0x7fffffffu; let eb = ub & 0x7fffffffu;
  if (ea < ${EXP} && eb < ${EXP}) { return a + b; }
  if (ea > ${EXP} || eb > ${EXP}) { return kiln_nan(); }
  if (ea == ${EXP} && eb == ${EXP} && ((ua ^ ub) & 0x80000000u) != 0u) { return kiln_nan(); }
  return bitcast<f32>(select(ub, ua, ea == ${EXP}));
}`,
  kiln_sub: `fn kiln_sub(a: f32, b: f32) -> f32 { return kiln_add(a, bitcast<f32>(bitcast<u32>(b) ^ 0x80000000u)); }`,
  kiln_mul: `fn kiln_mul(a: f32, b: f32) -> f32 {
  let ua = bitcast<u32>(a); let ub = bitcast<u32>(b);
  let ea = ua & 0x7fffffffu; let eb = ub & 0x7fffffffu;
  if (ea < ${EXP} && eb < ${EXP}) { return a * b; }
  if (ea > ${EXP} || eb > ${EXP} || ea == 0u || eb == 0u) { return kiln_nan(); }
  return bitcast<f32>(${EXP} | ((ua ^ ub) & 0x80000000u));
}`,
  kiln_div: `fn kiln_div(a: f32, b: f32) -> f32 {
  let ua = bitcast<u32>(a); let ub = bitcast<u32>(b);
  let ea = ua & 0x7fffffffu; let eb = ub & 0x7fffffffu;
  let sign = (ua ^ ub) & 0x80000000u;
  if (ea < ${EXP} && eb < ${EXP} && eb != 0u) { return a / b; }
  if (ea > ${EXP} || eb > ${EXP} || (ea == ${EXP} && eb == ${EXP}) || (ea == 0u && eb == 0u)) { return kiln_nan(); }
  if (eb == 0u || ea == ${EXP}) { return bitcast<f32>(${EXP} | sign); }
  return bitcast<f32>(sign);
}`,
  kiln_max: `fn kiln_max(a: f32, b: f32) -> f32 {
  if ((bitcast<u32>(a) & 0x7fffffffu) > ${EXP} || (bitcast<u32>(b) & 0x7fffffffu) > ${EXP}) { return kiln_nan(); }
  return kiln_tie_first(a, b, max(a, b));
}`,
  kiln_min: `fn kiln_min(a: f32, b: f32) -> f32 {
  if ((bitcast<u32>(a) & 0x7fffffffu) > ${EXP} || (bitcast<u32>(b) & 0x7fffffffu) > ${EXP}) { return kiln_nan(); }
  return kiln_tie_first(a, b, min(a, b));
}`,
  // std::max/min keep the first operand on a tie of -0 and +0, which WGSL's max/min (and a select,
  // under llvmpipe's no-signed-zeros arithmetic) may pick either of: decided on the bits
  kiln_tie_first: `fn kiln_tie_first(a: f32, b: f32, m: f32) -> f32 {
  if (((bitcast<u32>(a) | bitcast<u32>(b)) & 0x7fffffffu) == 0u) { return a; }
  return m;
}`,
  // NaN below zero decided on the bits: llvmpipe folds exp(log(x)) to x, which would read a negative x back
  kiln_log: `fn kiln_log(a: f32) -> f32 {
  if (bitcast<u32>(a) > 0x80000000u) { return kiln_nan(); }
  return log(a);
}`,
  // a*b + c: one rounding where everything is finite, else the special cases of mul then add
  kiln_fma: `fn kiln_fma(a: f32, b: f32, c: f32) -> f32 {
  let f = ${EXP};
  if ((bitcast<u32>(a) & f) != f && (bitcast<u32>(b) & f) != f && (bitcast<u32>(c) & f) != f) { return fma(a, b, c); }
  return kiln_add(kiln_mul(a, b), c);
}`,
  // ordered comparisons are false on NaN; as helpers, `select` over them is not rewritten into a
  // min/max that drops the NaN (llvmpipe did so for relu's where(x <= 0, 0, x))
  ...comparisons(),
} as const;

function comparisons() {
  const ops = { lt: '<', le: '<=', gt: '>', ge: '>=', eq: '==' } as const;
  const nan = (v: string) => `(bitcast<u32>(${v}) & 0x7fffffffu) > ${EXP}`;
  const out = {} as Record<`kiln_${keyof typeof ops | 'ne'}`, string>;
  for (const [name, op] of Object.entries(ops) as [keyof typeof ops, string][]) {
    const ordered = `!(${nan('a')} || ${nan('b')})`;
    out[`kiln_${name}`] = `fn kiln_${name}(a: f32, b: f32) -> bool { return ${ordered} && (a ${op} b); }`;
  }
  out.kiln_ne = `fn kiln_ne(a: f32, b: f32) -> bool { return !kiln_eq(a, b); }`;
  return out;
}

export type IEEEHelper = keyof typeof IEEE_HELPERS;

/** the helper computing binary `fn` on f32 operands, if it has one */
export const IEEE_BINARY: Partial<Record<string, IEEEHelper>> = {
  add: 'kiln_add',
  sub: 'kiln_sub',
  mul: 'kiln_mul',
  div: 'kiln_div',
  max: 'kiln_max',
  min: 'kiln_min',
  lt: 'kiln_lt',
  le: 'kiln_le',
  gt: 'kiln_gt',
  ge: 'kiln_ge',
  eq: 'kiln_eq',
  ne: 'kiln_ne',
};

/** what each helper calls */
export const IEEE_DEPS: Partial<Record<IEEEHelper, string[]>> = {
  kiln_add: ['kiln_nan'],
  kiln_sub: ['kiln_add'],
  kiln_mul: ['kiln_nan'],
  kiln_div: ['kiln_nan'],
  kiln_max: ['kiln_nan', 'kiln_tie_first'],
  kiln_min: ['kiln_nan', 'kiln_tie_first'],
  kiln_fma: ['kiln_add', 'kiln_mul'],
  kiln_log: ['kiln_nan'],
  kiln_ne: ['kiln_eq'],
};
