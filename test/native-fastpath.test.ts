// The per-step fast path: generated host code equals the interpreter bit for bit, and the
// synchronous native step that skips its per-cell checks when no cell changed (cellEpoch) still
// sees every host write, lr change, sync and ownership move a plain reference run sees.
import { describe, expect, it } from 'vitest';
import { availableTargets, compile, manualSeed, nn, optim, type Tensor } from 'kiln';
import {
  compileHostClosures,
  generateHostProgram,
  runHostProgram,
  type HostExpr,
  type HostProgram,
} from '../runtime/host.js';
import { cellEpoch, TensorCell } from '../compiler/state.js';

function randomProgram(seed: number): HostProgram {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const specials = [NaN, -0, 0, Infinity, -Infinity, -1.5, 0.9, 0.999, 1e-8, 3, 2 ** -1074];
  const nv = 6;
  const expr = (d: number): HostExpr => {
    const r = rnd();
    if (d <= 0 || r < 0.3) {
      return rnd() < 0.5
        ? { k: 'var', i: Math.floor(rnd() * nv) }
        : { k: 'num', v: specials[Math.floor(rnd() * specials.length)] };
    }
    if (r < 0.4) return { k: (['sqrt', 'neg', 'floor'] as const)[Math.floor(rnd() * 3)], a: expr(d - 1) };
    const ops = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min'] as const;
    return { k: ops[Math.floor(rnd() * ops.length)], a: expr(d - 1), b: expr(d - 1) };
  };
  const stmts: HostProgram['stmts'] = [];
  for (let i = 0; i < 12; i++) {
    stmts.push(rnd() < 0.4 ? { k: 'set', v: Math.floor(rnd() * nv), e: expr(3) } : { k: 'emit', s: i, e: expr(3) });
  }
  // Adam's shape: pow(beta, t) with equal per-parameter step counters (the memoized pow's hits)
  stmts.push({ k: 'emit', s: 12, e: { k: 'pow', a: { k: 'num', v: 0.9 }, b: { k: 'var', i: 0 } } });
  stmts.push({ k: 'emit', s: 13, e: { k: 'pow', a: { k: 'num', v: 0.9 }, b: { k: 'var', i: 1 } } });
  stmts.push({ k: 'emit', s: 14, e: { k: 'pow', a: { k: 'num', v: -0 }, b: { k: 'num', v: -1 } } });
  stmts.push({ k: 'emit', s: 15, e: { k: 'pow', a: { k: 'num', v: 0 }, b: { k: 'num', v: -1 } } });
  return { vars: Array.from({ length: nv }, (_, i) => ({ name: `v${i}`, init: i })), stmts, scalarCount: 16 };
}

describe('generated host program', () => {
  it('equals the interpreter and the closures bit for bit, over repeated runs', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const p = randomProgram(seed);
      const gen = generateHostProgram(p)!;
      expect(gen).toBeTypeOf('function');
      const clo = compileHostClosures(p);
      const init = [1, 1, 2, -0, 0.5, 7];
      const [va, vb, vc] = [Float64Array.from(init), Float64Array.from(init), Float64Array.from(init)];
      for (let run = 0; run < 3; run++) {
        const [sa, sb, sc] = [new Float32Array(16), new Float32Array(16), new Float32Array(16)];
        runHostProgram(p, va, sa);
        gen(vb, sb);
        clo(vc, sc);
        expect(Array.from(sb).map((x) => (Object.is(x, -0) ? '-0' : x))).toEqual(
          Array.from(sa).map((x) => (Object.is(x, -0) ? '-0' : x)),
        );
        expect(Array.from(vb).map((x) => (Object.is(x, -0) ? '-0' : x))).toEqual(
          Array.from(va).map((x) => (Object.is(x, -0) ? '-0' : x)),
        );
        expect(Array.from(sc)).toEqual(Array.from(sa));
      }
    }
  });
});

describe('cellEpoch', () => {
  it('is bumped by host writes and owner changes, not by reads', () => {
    const c = TensorCell.zeros('c', [2]);
    let e = cellEpoch.value;
    c.write([1, 2]);
    expect(cellEpoch.value).toBeGreaterThan(e);
    e = cellEpoch.value;
    void c.data;
    void c.owner;
    expect(cellEpoch.value).toBe(e);
    const store = { pull: async () => {} };
    c.owner = store;
    expect(cellEpoch.value).toBe(e + 1);
    c.owner = store;
    expect(cellEpoch.value).toBe(e + 1);
    c.owner = null;
    expect(cellEpoch.value).toBe(e + 2);
  });
});

describe.runIf(availableTargets().includes('native'))('native fast path sees every change a reference run sees', () => {
  /** the same scripted session on `target` (and a reference helper step for ownership moves) */
  async function session(target: string): Promise<number[]> {
    manualSeed(0);
    const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
    const criterion = new nn.CrossEntropyLoss();
    const opt = new optim.Adam(model.parameters(), { lr: 1e-2 });
    const body = (x: Tensor, y: Tensor) => {
      const loss = criterion.forward(model.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss;
    };
    const inputs = [
      { shape: [2, 4], dtype: 'float32' as const },
      { shape: [2], dtype: 'int32' as const },
    ];
    const step = await compile(body, { inputs, target });
    const other = await compile(body, { inputs, target: 'reference' }); // moves ownership to the host
    const evalStep = await compile((x: Tensor) => model.forward(x).sum(), { inputs: [inputs[0]], target });
    const x = Float32Array.of(0.5, -1, 2, 0.25, 1, 0, -0.5, 3),
      y = Int32Array.of(1, 0);
    const out: number[] = [];
    for (let i = 0; i < 24; i++) {
      if (i === 3) (model.parameters()[0] as any).data = new Float32Array(12).fill(0.1); // host write
      if (i === 6) opt.paramGroups[0].lr = 3e-2; // live hyperparameter
      if (i === 9) await step.sync(); // pulls everything back; the next run must own it again
      if (i === 12 || i === 13) {
        out.push((await other.run(x, y)).item());
        continue;
      } // ownership moves
      if (i === 15) out.push((await evalStep.run(x)).item()); // another program on the same device
      if (i === 18) opt.paramGroups[0].amsgrad = true; // re-traces (guard)
      if (i === 20) {
        // a program that only reads: a host write of a cell nobody owns must reach it
        await step.sync();
        out.push((await evalStep.run(x)).item());
        (model.parameters()[2] as any).data = new Float32Array(6).fill(-0.2);
        out.push((await evalStep.run(x)).item());
      }
      out.push((await step.run(x, y)).item());
    }
    await step.sync();
    for (const p of model.parameters()) out.push(...p.data);
    return out;
  }

  it('matches the reference target step for step', async () => {
    const [want, got] = [await session('reference'), await session('native')];
    expect(got.length).toBe(want.length);
    got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(want[i]))));
  });
});
