// kiln builds LLVM IR in a child process (targets/llvm/ir-host.ts): llvm-bindings' LLVM 14 and the
// LLVM 15 Mesa's llvmpipe brings into Dawn abort or crash when they share an address space. Each
// order of targets runs in a fresh process (helpers/targets-in-order.ts) and trains the seed with
// the same losses as the reference; the process never loads LLVM 14 itself.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const TOL = 1e-5; // webgpu against the reference (measured ~3e-7); native is bit-exact here
const script = fileURLToPath(new URL('./helpers/targets-in-order.ts', import.meta.url));

interface Report {
  stages: { target: string; got: number[]; want: number[] }[];
  llvmBindings: string[];
  dawn: string[];
}

function inFreshProcess(targets: string[]): Promise<Report> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=kiln-source', script, ...targets],
      { timeout: 180_000 },
      (err, out, errOut) =>
        err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(JSON.parse(out.trim().split('\n').at(-1)!)),
    ),
  );
}

describe('native and webgpu in one process', () => {
  for (const order of [
    ['webgpu', 'native'],
    ['native', 'webgpu', 'native'],
  ]) {
    it(order.join(' -> '), async () => {
      const r = await inFreshProcess(order);
      expect(r.stages.map((s) => s.target)).toEqual(order);
      for (const [i, s] of r.stages.entries()) {
        s.got.forEach((l, k) =>
          expect(Math.abs(l - s.want[k]) / s.want[k], `${s.target} (stage ${i}) loss ${k}`).toBeLessThanOrEqual(TOL),
        );
      }
      expect(r.dawn).toHaveLength(1);
      expect(r.llvmBindings).toEqual([]);
    });
  }
});
