// `kiln build --out`: the output folder is replaced only when empty or a previous kiln build, never
// when it holds the entry, and only once the new build is complete (a failing build leaves the old
// one). And an entry whose top-level await never settles gets an error naming it, not exit 13.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kilnBin = path.join(root, 'bin/kiln.mjs');

function kiln(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [kilnBin, ...args],
      { cwd: root, maxBuffer: 64 << 20, env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

let dir: string, entry: string;
const program = (name: string) =>
  [
    `import { defineProgram, nn, type Tensor } from ${JSON.stringify(path.join(root, 'compiler/index.ts'))};`,
    'const model = new nn.Linear(3, 2);',
    `export default defineProgram({ name: ${JSON.stringify(name)}, model, functions: {`,
    '  predict: { inputs: [{ shape: [1, 3], dtype: "float32" }], fn: (x: Tensor) => model.forward(x) },',
    '} });',
    '',
  ].join('\n');

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kiln-out-'));
  writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  entry = path.join(dir, 'prog.ts');
  writeFileSync(entry, program('prog'));
  writeFileSync(path.join(dir, 'notes.txt'), 'mine');
});

describe('kiln build --out', () => {
  it('refuses a folder holding the entry, or one that is not a previous kiln build, and deletes nothing', async () => {
    const here = await kiln(['build', entry, '--target', 'webgpu', '--out', dir, '--quiet']);
    expect(here.code).toBe(1);
    expect(here.stderr).toMatch(/--out .* contains .*prog\.ts, an input of this build/);
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', 'package.json', 'prog.ts']);

    const other = path.join(dir, 'docs');
    mkdirSync(other);
    writeFileSync(path.join(other, 'thesis.md'), 'years of work');
    const r = await kiln(['build', entry, '--target', 'webgpu', '--out', other, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /--out .*docs is not empty and not a previous kiln build .*refusing to replace it \(it holds thesis\.md\)/,
    );
    expect(readFileSync(path.join(other, 'thesis.md'), 'utf8')).toBe('years of work');
  });

  it('replaces a previous build only once the new one is complete; a failing build keeps the old one', async () => {
    const out = path.join(dir, 'build', 'prog');
    expect((await kiln(['build', entry, '--target', 'webgpu', '--out', out, '--quiet'])).code).toBe(0);
    const before = readFileSync(path.join(out, 'kiln-bundle.json'), 'utf8');
    expect(JSON.parse(before).targets).toEqual(['webgpu']);
    // the native build fails late (after tracing, WGSL and LLVM) when its C compiler does
    const cache = mkdtempSync(path.join(tmpdir(), 'kiln-out-cache-'));
    const failing = await kiln(['build', entry, '--target', 'native', '--out', out, '--quiet'], {
      KILN_CC: 'false',
      KILN_CACHE_DIR: cache,
    });
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/`false -(c|shared) /); // the C compiler: rt.c or the link
    expect(readFileSync(path.join(out, 'kiln-bundle.json'), 'utf8')).toBe(before);
    expect(readdirSync(path.dirname(out))).toEqual(['prog']); // no staging folder left
    // a successful rebuild replaces it
    expect((await kiln(['build', entry, '--target', 'all', '--out', out, '--quiet'])).code).toBe(0);
    expect(JSON.parse(readFileSync(path.join(out, 'kiln-bundle.json'), 'utf8')).targets).toEqual(['native', 'webgpu']);
    expect(readdirSync(path.dirname(out))).toEqual(['prog']);
    expect(existsSync(path.join(out, 'native', 'predict.so'))).toBe(true);
  });
});

describe('kiln entry modules', () => {
  it('names the entry whose top-level await never settles (instead of exit 13 and no message)', async () => {
    const stuck = path.join(dir, 'stuck.ts');
    writeFileSync(stuck, `${program('stuck')}await new Promise(() => {});\n`);
    const r = await kiln(['inspect', stuck]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error: .*stuck\.ts never finished loading: its top-level `await` waits on a promise that never settles/,
    );
  });
});
