// Runs the layer and function goldens of test/fixtures/layers (see layer_golden.py there) on a
// target: every case of a family in one compiled function (one compile per target), each case's
// outputs and gradients checked on its own. Float inputs become Parameters (so they get gradients),
// int64 and bool inputs become compiled inputs, the module loads the golden state (parameters and
// buffers), and the upstream gradient is PyTorch's: backward of sum(output * weight).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, nn, type Tensor } from '../../compiler/index.js';
import type { GoldenTensor } from './golden.js';

type Golden = GoldenTensor | { shape: number[]; dtype: 'bool'; data: number[] };
export interface LayerGoldenCase {
  name: string;
  state: Record<string, Golden>;
  inputs: Golden[];
  steps: {
    outputs: Golden[];
    weights: (Golden | null)[];
    inputGrads: (Golden | null)[];
    paramGrads: Record<string, Golden>;
  }[];
  stateAfter?: Record<string, Golden>;
}
/** how kiln computes a case: a module (loaded with the golden state) called on the inputs, or a function */
export type LayerCaseSpec =
  | { module: () => nn.Module; call?: (m: nn.Module, ...xs: Tensor[]) => Tensor | Tensor[] }
  | { fn: (...xs: Tensor[]) => Tensor | Tensor[] };

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/layers');
export const loadLayerGoldens = (family: string): LayerGoldenCase[] =>
  JSON.parse(readFileSync(path.join(dir, `${family}.json`), 'utf8')).cases;

/** a golden input as run() takes it: bool inputs run as 0/1 int32 */
const typed = (t: Golden) => (t.dtype === 'float32' ? Float32Array.from(t.data) : Int32Array.from(t.data));

/**
 * The entries of `got` failing |got - want| <= tol max(|want|, rms(want)): relative, with the
 * tensor's own scale as the floor, so one ulp of a value PyTorch left near zero by cancellation
 * (a sum over a window, a centred statistic) does not read as a large relative error. NaN fails.
 */
export function goldenMisses(got: ArrayLike<number>, want: Golden, tol: number, label: string): string[] {
  if (got.length !== want.data.length) return [`${label}: ${got.length} values, PyTorch has ${want.data.length}`];
  const rms = Math.sqrt(want.data.reduce((s, v) => s + v * v, 0) / Math.max(1, want.data.length));
  const out: string[] = [];
  want.data.forEach((w, i) => {
    if (!(Math.abs(got[i] - w) <= tol * Math.max(Math.abs(w), rms))) out.push(`${label}[${i}]: ${got[i]} vs ${w}`);
  });
  return out.length > 5 ? [...out.slice(0, 5), `${label}: ${out.length - 5} more`] : out;
}

/** the module's stateDict() (parameters and persistent buffers) against PyTorch's: the same keys and values */
function checkStateAfter(module: nn.Module, want: Record<string, Golden>, tol: number, fails: string[]): void {
  const sd = module.stateDict();
  for (const [k, w] of Object.entries(want)) {
    if (!sd[k]) fails.push(`state after: kiln has no ${k}`);
    else fails.push(...goldenMisses(sd[k].data, w, tol, `state after: ${k}`));
  }
  for (const k of Object.keys(sd)) if (!(k in want)) fails.push(`state after: kiln has ${k}, PyTorch has not`);
  if (Object.keys(sd).join() !== Object.keys(want).join()) {
    fails.push(`state after: kiln's keys ${Object.keys(sd)} are not PyTorch's ${Object.keys(want)} in order`);
  }
}

export interface LayerGoldenRun {
  /** per case name: the mismatches of every step's outputs, input and parameter gradients, and buffers */
  failures: Map<string, string[]>;
}

/** compiles every case of `cases` (each named in `specs`) for `target` and checks them all */
export async function runLayerGoldens(
  cases: LayerGoldenCase[],
  specs: Record<string, LayerCaseSpec>,
  target: string,
  tol: number,
): Promise<LayerGoldenRun> {
  const missing = cases.filter((c) => !specs[c.name]).map((c) => c.name);
  if (missing.length) throw new Error(`no kiln spec for golden case(s) ${missing.join(', ')}`);
  const prepared = cases.map((c) => {
    const spec = specs[c.name];
    const module = 'module' in spec ? spec.module() : null;
    if (module)
      module.loadStateDict(
        Object.fromEntries(Object.entries(c.state).map(([k, t]) => [k, { shape: t.shape, data: t.data }])),
      );
    const inputs = c.inputs.map((t) =>
      t.dtype === 'float32' ? new nn.Parameter({ shape: t.shape, data: t.data }) : t,
    );
    return { c, spec, module, inputs, grads: new Map(module ? [...module.namedParameters()] : []) };
  });
  const specsIn = prepared.flatMap((p) => p.inputs.filter((x): x is Golden => !(x instanceof nn.Parameter)));
  // one weight per output of each step: Parameters, so the compiled step reads them as state
  const weights = prepared.map((p) =>
    p.c.steps.map((s) => s.weights.map((w) => (w ? new nn.Parameter({ shape: w.shape, data: w.data }) : null))),
  );
  const steps = Math.max(...cases.map((c) => c.steps.length));
  const f = await compile(
    (...compiledInputs: Tensor[]) => {
      let next = 0;
      const results: Tensor[] = [];
      let loss: Tensor | null = null;
      prepared.forEach((p, ci) => {
        const xs = p.inputs.map((x) => (x instanceof nn.Parameter ? x : compiledInputs[next++]));
        for (const x of p.inputs) if (x instanceof nn.Parameter) x.grad = null;
        for (const q of p.grads.values()) q.grad = null;
        const spec = p.spec;
        const out = 'fn' in spec ? spec.fn(...xs) : spec.call ? spec.call(p.module!, ...xs) : p.module!.forward(...xs);
        const outs = Array.isArray(out) ? out : [out];
        // layer_golden.py gives every step the same weights
        outs.forEach((o, i) => {
          const w = weights[ci][0][i];
          if (w && o.requiresGrad) loss = loss ? loss.add(o.mul(w).sum()) : o.mul(w).sum();
        });
        results.push(...outs);
      });
      if (loss) (loss as Tensor).backward();
      for (const p of prepared) {
        for (const x of p.inputs) if (x instanceof nn.Parameter) results.push(x.grad ?? x.mul(0));
        for (const q of p.grads.values()) results.push(q.grad ?? q.mul(0));
      }
      return results;
    },
    { inputs: specsIn.map((t) => ({ shape: t.shape, dtype: t.dtype === 'int64' ? 'int32' : t.dtype })), target },
  );
  const failures = new Map<string, string[]>(cases.map((c) => [c.name, []]));
  for (let k = 0; k < steps; k++) {
    const out = await f.run(...specsIn.map(typed));
    let at = 0;
    const outputsOf = prepared.map((p) => {
      const n = p.c.steps[0].outputs.length;
      at += n;
      return out.slice(at - n, at);
    });
    for (const [ci, p] of prepared.entries()) {
      const step = p.c.steps[k],
        fails = failures.get(p.c.name)!;
      if (!step) continue;
      const got = outputsOf[ci];
      if (got.length !== step.outputs.length)
        fails.push(`step ${k}: ${got.length} outputs, PyTorch has ${step.outputs.length}`);
      step.outputs.forEach((o, i) => fails.push(...goldenMisses(got[i]?.data ?? [], o, tol, `step ${k} output ${i}`)));
    }
    for (const p of prepared) {
      const step = p.c.steps[k],
        fails = failures.get(p.c.name)!;
      p.inputs.forEach((x, i) => {
        if (!(x instanceof nn.Parameter)) return;
        const g = out[at++],
          want = step?.inputGrads[i];
        if (want) fails.push(...goldenMisses(g.data, want, tol, `step ${k} grad of input ${i}`));
      });
      for (const name of p.grads.keys()) {
        const g = out[at++],
          want = step?.paramGrads[name];
        if (want) fails.push(...goldenMisses(g.data, want, tol, `step ${k} grad of ${name}`));
        else if (step) fails.push(`step ${k}: kiln has a gradient for ${name}, PyTorch has none`);
      }
    }
    // a case's state after its own last step (later runs of the shared function move its buffers on)
    const done = prepared.filter((p) => p.module && p.c.stateAfter && p.c.steps.length === k + 1);
    if (done.length) await f.sync();
    for (const p of done) checkStateAfter(p.module!, p.c.stateAfter!, tol, failures.get(p.c.name)!);
  }
  return { failures };
}

/**
 * The golden test of a family on every target (`title` names it, `%s` the target): all of its cases
 * must match PyTorch within 1e-5 (1e-4 on webgpu), each case listing its own mismatches.
 */
export function describeLayerGoldens(title: string, family: string, specs: Record<string, LayerCaseSpec>): void {
  describe.each(['reference', 'native', 'webgpu'])(title, (target) => {
    it('matches PyTorch', async () => {
      const cases = loadLayerGoldens(family);
      const { failures } = await runLayerGoldens(cases, specs, target, target === 'webgpu' ? 1e-4 : 1e-5);
      expect(Object.fromEntries(failures)).toEqual(Object.fromEntries(cases.map((c) => [c.name, []])));
    });
  });
}
