// Copies kiln's runtime into a bundle as plain JavaScript (each runtime/*.ts transpiled alone,
// keeping its relative `.js` imports), so the generated package is self-contained: it needs no
// kiln install, no TypeScript and no compiler at run time. The runtime imports nothing from
// compiler/ (by design), so the copy is closed.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ts } from 'ts-morph';

export const runtimeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../runtime');

function* tsFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') && !e.name.endsWith('.test.ts')) yield p;
  }
}

/** writes `<out>/runtime/**.js`; returns the files written (relative to out) */
export function vendorRuntime(out: string): string[] {
  const written: string[] = [];
  for (const file of tsFiles(runtimeDir)) {
    const rel = path.relative(runtimeDir, file).replace(/\.ts$/, '.js');
    const src = readFileSync(file, 'utf8');
    if (/from '\.\.\/\.\.\/compiler|from '\.\.\/compiler/.test(src))
      throw new Error(`runtime file ${rel} imports the compiler: a bundle cannot ship it`);
    const js = ts.transpileModule(src, {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        verbatimModuleSyntax: false,
      },
    }).outputText;
    const dest = path.join(out, 'runtime', rel);
    mkdirSync(path.dirname(dest), { recursive: true });
    writeFileSync(dest, js);
    written.push(path.join('runtime', rel));
  }
  return written;
}
