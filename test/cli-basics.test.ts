// The CLI as people run it: bin/kiln.mjs in a child process (help, exit codes, errors that quote
// the user's source line).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kilnBin = path.join(root, 'bin/kiln.mjs');

function kiln(args: string[], cwd = root): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [kilnBin, ...args], { cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('kiln CLI', () => {
  it('has --help for itself and every command, exit 0', async () => {
    const top = await kiln(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Commands:[\s\S]*build[\s\S]*inspect/);
    for (const cmd of ['build', 'inspect']) {
      const h = await kiln([cmd, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toContain(`Usage: kiln ${cmd} <entry.ts>`);
      expect((await kiln(['help', cmd])).stdout).toBe(h.stdout);
    }
    expect((await kiln(['inspect', '--help'])).stdout).toMatch(/--emit <kind>.*wgsl, llvm, asm/);
    expect((await kiln(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 2 on bad usage with a pointer to --help', async () => {
    const none = await kiln([]);
    expect(none.code).toBe(2);
    const unknown = await kiln(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    const badOpt = await kiln(['inspect', 'x.ts', '--emitt', 'wgsl']);
    expect(badOpt.code).toBe(2);
    expect(badOpt.stderr).toMatch(/unknown option '--emitt' \(did you mean --emit\?\)[\s\S]*kiln inspect --help/);
    const badChoice = await kiln(['build', 'x.ts', '--target', 'cuda']);
    expect(badChoice.code).toBe(2);
    expect(badChoice.stderr).toMatch(/--target must be one of native, webgpu, all \(got 'cuda'\)/);
    expect((await kiln(['inspect'])).stderr).toMatch(/missing <entry\.ts>/);
  });

  it("exits 1 with the user's source line when tracing fails", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-cli-'));
    const entry = path.join(dir, 'bad.ts');
    const cjs = await kiln(['inspect', (writeFileSync(entry, 'import "node:fs";\nexport {};\n'), entry)]);
    expect(cjs.code).toBe(1);
    expect(cjs.stderr).toMatch(/add "type": "module" to the nearest package\.json/);
    writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
    const kilnSrc = path.join(root, 'compiler/index.ts');
    writeFileSync(
      entry,
      [
        `import { defineProgram, nn, type Tensor } from ${JSON.stringify(kilnSrc)};`,
        'const model = new nn.Linear(4, 3);',
        'export default defineProgram({ name: "bad", model, functions: { f: {',
        '  inputs: [{ shape: [2, 5], dtype: "float32" }],',
        '  fn: (x: Tensor) => model.forward(x).sum(),',
        '} } });',
        '',
      ].join('\n'),
    );
    const r = await kiln(['inspect', entry]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: .*\[2, 5\]/);
    expect(r.stderr).toContain('5 |   fn: (x: Tensor) => model.forward(x).sum(),');
    expect(r.stderr).toMatch(/\n\s+\^/);

    // a function whose trace would not hold on later runs (gradients accumulate across runs)
    writeFileSync(
      path.join(dir, 'acc.ts'),
      [
        `import { defineProgram, nn, optim, type Tensor } from ${JSON.stringify(kilnSrc)};`,
        'const model = new nn.Linear(3, 1);',
        'const opt = new optim.SGD(model.parameters(), { lr: 0.1 });',
        'export default defineProgram({ name: "acc", model, optimizer: opt, functions: {',
        '  accumulate: { inputs: [{ shape: [1, 3], dtype: "float32" }], ' +
          'fn: (x: Tensor) => { const l = model.forward(x).sum(); l.backward(); return l; } },',
        '} });',
      ].join('\n'),
    );
    const acc = await kiln(['build', path.join(dir, 'acc.ts'), '--out', path.join(dir, 'acc-out')]);
    expect(acc.code).toBe(1);
    expect(acc.stderr).toMatch(/cannot bundle acc: a bundle runs one trace per function/);
    expect(acc.stderr).toMatch(
      /\n\s+accumulate was traced with weight\.grad None, but running accumulate makes it set/,
    );
    expect(existsSync(path.join(dir, 'acc-out'))).toBe(false);

    const missing = await kiln(['inspect', path.join(dir, 'nope.ts')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.ts does not exist/);
    writeFileSync(path.join(dir, 'empty.ts'), 'export const x = 1;\n');
    const empty = await kiln(['inspect', path.join(dir, 'empty.ts')]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/exports no program: export the result of defineProgram/);
  });
});
