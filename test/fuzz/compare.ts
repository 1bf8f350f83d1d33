// How a device target's result is judged against the reference target's: non-finite values must
// match exactly (NaN where NaN, the same infinity), finite ones within a tolerance scaled by the
// element and by the tensor's largest finite magnitude (a sum that cancels keeps only the error of
// its large terms; the reference accumulates in float64, devices in float32).
export interface Tolerance {
  rtol: number;
  atol: number;
}

export const TOLERANCE: Record<string, Tolerance> = {
  native: { rtol: 1e-4, atol: 1e-5 },
  webgpu: { rtol: 1e-3, atol: 1e-4 },
  'webgpu:swiftshader': { rtol: 1e-3, atol: 1e-4 },
};
export const toleranceFor = (target: string): Tolerance => TOLERANCE[target] ?? TOLERANCE.native;

export interface Mismatch {
  output: number;
  index: number;
  got: number;
  want: number;
  reason: string;
}

export function compareArrays(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: Tolerance,
  output = 0,
): Mismatch | null {
  if (got.length !== want.length) {
    return { output, index: -1, got: got.length, want: want.length, reason: 'length differs' };
  }
  let scale = 0;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i])) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    const g = got[i],
      w = want[i];
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (Number.isNaN(w) !== Number.isNaN(g)) return { output, index: i, got: g, want: w, reason: 'NaN differs' };
      continue;
    }
    if (!Number.isFinite(w) || !Number.isFinite(g)) {
      if (g !== w) return { output, index: i, got: g, want: w, reason: 'infinity differs' };
      continue;
    }
    if (Math.abs(g - w) > tol.rtol * Math.abs(w) + tol.atol * Math.max(scale, 1e-30) + 1e-37) {
      return {
        output,
        index: i,
        got: g,
        want: w,
        reason: `off by ${Math.abs(g - w).toPrecision(3)} (scale ${scale.toPrecision(3)})`,
      };
    }
  }
  return null;
}
