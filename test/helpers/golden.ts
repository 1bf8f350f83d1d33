// Shared loader for the PyTorch 1.13 golden trajectories in test/fixtures/golden (see SOURCE.md
// there). Generic on purpose: read a fixture, turn its tensors into Parameters or typed arrays,
// and measure relative error, so optimizer and training tests read the data the same way.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nn } from '../../compiler/index.js';

export interface GoldenTensor {
  shape: number[];
  dtype: 'float32' | 'int64';
  data: number[];
}

export const goldenDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/golden');

/** every fixture name (without .json) whose name starts with one of `prefixes` */
export function goldenNames(...prefixes: string[]): string[] {
  return readdirSync(goldenDir)
    .filter((f) => f.endsWith('.json') && prefixes.some((p) => f.startsWith(p)))
    .map((f) => f.slice(0, -5))
    .sort();
}

export function loadGolden<T = any>(name: string): T {
  return JSON.parse(readFileSync(path.join(goldenDir, `${name}.json`), 'utf8')) as T;
}

export const f32 = (t: GoldenTensor): Float32Array => Float32Array.from(t.data);
export const i32 = (t: GoldenTensor): Int32Array => Int32Array.from(t.data);

/** a fresh Parameter holding a golden tensor's values */
export const toParameter = (t: GoldenTensor): nn.Parameter => new nn.Parameter({ shape: [...t.shape], data: t.data });

/** a golden `state_dict()` (`{ '0.weight': tensor, ... }`) as kiln's module state dict */
export function toStateDict(sd: Record<string, GoldenTensor>): Record<string, { shape: number[]; data: Float32Array }> {
  return Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, { shape: [...t.shape], data: f32(t) }]));
}

/**
 * Norm-wise relative error max|a - b| / max|b| (the infinity norm): the measure for targets that
 * need not reproduce PyTorch's CPU rounding (WebGPU: a device's `fma` may be unfused, an ulp at the
 * tensor's scale that an elementwise measure inflates wherever an update cancels a value to ~0).
 */
export function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != expected ${expected.length}`);
  let diff = 0,
    scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff === 0 ? 0 : diff / Math.max(scale, Number.MIN_VALUE);
}

/**
 * Largest elementwise relative error |a - b| / max(|b|, floor). The floor keeps values that
 * PyTorch left near zero from turning one ulp of absolute noise into a huge relative error.
 */
export function maxRelErr(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-3): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != expected ${expected.length}`);
  let m = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i],
      a = actual[i];
    const err = Math.abs(a - e) / Math.max(Math.abs(e), floor);
    if (!(err <= m)) m = Number.isNaN(err) ? Infinity : err;
  }
  return m;
}

/**
 * Largest elementwise relative error |a - b| / |b| with no floor: 0 exactly when the arrays are
 * equal (reference and native reproduce PyTorch 1.13's CPU optimizers bit for bit, fma included),
 * Infinity for any difference where PyTorch has 0 or NaN.
 */
export function elemRelErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != expected ${expected.length}`);
  let m = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i],
      e = expected[i];
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    const err = Math.abs(a - e) / Math.abs(e);
    m = Math.max(m, Number.isNaN(err) ? Infinity : err);
  }
  return m;
}

/** the golden measure of a target: exact elementwise on CPU targets, norm-wise 1e-5 on WebGPU */
export function goldenCheck(target: string): {
  err: (a: ArrayLike<number>, e: ArrayLike<number>) => number;
  tol: number;
} {
  return target.startsWith('webgpu') ? { err: relErr, tol: 1e-5 } : { err: elemRelErr, tol: 0 };
}

/** PyTorch snake_case option names to kiln's camelCase ones ({ weight_decay: 0.1 } -> { weightDecay: 0.1 }) */
export function camelOptions(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]),
  );
}

/** targets the golden tests run on: KILN_TARGETS=reference,native,webgpu (default: reference) */
export const goldenTargets = (): string[] =>
  (process.env.KILN_TARGETS ?? 'reference')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
