// Builds an examples/programs entry with `kiln build` into a fresh folder under the repository (so that the
// package's `import 'koffi'` resolves to the repository's node_modules), loads it, hands the loaded program to
// `use`, and removes the folder whatever happens.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// `program` is any: its typed API is generated per package (index.d.ts), not known to the tests
export async function withBuiltPackage<T>(
  entry: string,
  target: string,
  use: (program: any) => Promise<T>,
): Promise<T> {
  mkdirSync(path.join(root, '.kiln-cache'), { recursive: true });
  const out = mkdtempSync(path.join(root, '.kiln-cache', `${path.basename(entry, '.ts')}-pkg-`));
  try {
    execFileSync(process.execPath, ['bin/kiln.mjs', 'build', entry, '--target', target, '--out', out], {
      cwd: root,
      stdio: 'pipe',
    });
    const { load } = await import(path.join(out, 'index.js'));
    return await use(await load({ target }));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
