// A KilnError names the user's line, also when kiln runs from a build with source maps (tsx and
// `node --enable-source-maps` show a build's frames at its sources, `<repo>/compiler/*.ts`).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { nn, zeros, KilnError } from '../compiler/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(path.join(os.tmpdir(), 'kiln-error-site-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** kiln transpiled into `<work>/dist` as `tsc -p tsconfig.build.json` lays it out, maps pointing at the sources */
function buildWithSourceMaps(): void {
  for (const dir of ['compiler', 'targets', 'runtime']) {
    for (const rel of readdirSync(path.join(repo, dir), { recursive: true }) as string[]) {
      if (!rel.endsWith('.ts')) continue;
      const src = path.join(repo, dir, rel),
        out = path.join(work, 'dist', dir, rel.replace(/\.ts$/, '.js'));
      const r = ts.transpileModule(readFileSync(src, 'utf8'), {
        fileName: src,
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: true },
      });
      const map = JSON.parse(r.sourceMapText!);
      map.sources = [src];
      mkdirSync(path.dirname(out), { recursive: true });
      writeFileSync(
        out,
        r.outputText.replace(/\/\/# sourceMappingURL=.*$/m, `//# sourceMappingURL=${path.basename(out)}.map`),
      );
      writeFileSync(`${out}.map`, JSON.stringify(map));
    }
  }
  writeFileSync(path.join(work, 'package.json'), '{ "type": "module" }');
  symlinkSync(path.join(repo, 'node_modules'), path.join(work, 'node_modules'));
}

/** a script whose line 3 adds tensors of shapes [3] and [2]; prints the error message */
function script(name: string, kiln: string): string {
  const file = path.join(work, name);
  writeFileSync(
    file,
    [
      `import { tensor } from '${kiln}';`,
      'const a = tensor([1, 2, 3]);',
      'try { a.add(tensor([1, 2])); } catch (e) { console.log((e as Error).message); }',
      '',
    ].join('\n'),
  );
  return file;
}

const run = (cmd: string, args: string[]): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: repo, env: { ...process.env, npm_config_loglevel: 'error' } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
const tsx = (file: string) => run('npx', ['tsx', file]);

describe('the user site of a KilnError', () => {
  it('is found below more kiln frames than the default stack depth (10)', () => {
    let model: nn.Module = new nn.Linear(3, 2);
    for (let i = 0; i < 12; i++) model = new nn.Sequential(model);
    let err: unknown;
    try {
      model.forward(zeros([1, 4]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KilnError);
    expect((err as Error).message).toMatch(/\n {4}at test\/error-site\.test\.ts:\d+:\d+$/);
  });

  it('is the script line under tsx, running the sources', async () => {
    const out = await tsx(script('from-source.ts', path.join(repo, 'compiler/index.ts')));
    expect(out).toContain('The size of tensor a (3) must match the size of tensor b (2)');
    expect(out).toMatch(/\n {4}at \S*from-source\.ts:3:\d+\n/);
  }, 60_000);

  it('is the script line under tsx, running a build whose source maps name compiler/*.ts', async () => {
    buildWithSourceMaps();
    const out = await tsx(script('from-build.ts', './dist/compiler/index.js'));
    expect(out).toContain('The size of tensor a (3) must match the size of tensor b (2)');
    expect(out).not.toMatch(/errors\.ts/);
    expect(out).toMatch(/\n {4}at \S*from-build\.ts:3:\d+\n/);
    const js = script('from-build.mjs', './dist/compiler/index.js');
    writeFileSync(js, readFileSync(js, 'utf8').replace(' as Error', ''));
    const node = await run(process.execPath, ['--enable-source-maps', js]);
    expect(node).toMatch(/\n {4}at \S*from-build\.mjs:3:\d+\n/);
  }, 60_000);
});
