// Where `kiln build` writes: a fresh staging folder beside the output, swapped in by renames only
// once the whole bundle is written, so a failing build leaves the previous output as it was. The
// output folder is replaced only when it is empty or a previous kiln build (it holds a
// kiln-bundle.json kiln wrote), and never when it holds the entry or another input.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
} from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.js';
import { processAlive } from '../files.js';

const STAGING = '.kiln-staging-';
const RETIRED = '.kiln-old-';

/** whether `dir` holds a bundle `kiln build` wrote (its manifest names the format and kiln's version) */
export function isKilnBuild(dir: string): boolean {
  try {
    const m = JSON.parse(readFileSync(path.join(dir, 'kiln-bundle.json'), 'utf8')) as Record<string, unknown>;
    return (
      typeof m.format === 'number' &&
      typeof m.kiln === 'string' &&
      typeof m.name === 'string' &&
      Array.isArray(m.functions)
    );
  } catch {
    return false;
  }
}

const real = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
};
const inside = (file: string, dir: string): boolean => {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/** throws unless `out` may be replaced by a build whose inputs are `inputs` */
export function checkOutput(out: string, inputs: readonly string[]): void {
  const abs = path.resolve(out);
  for (const f of inputs) {
    if (inside(real(f), real(abs))) {
      throw new KilnError(
        `--out ${out} contains ${f}, an input of this build: a build replaces its output folder, ` +
          'which would delete it; choose another --out',
        '',
      );
    }
  }
  if (!existsSync(abs)) return;
  const st = lstatSync(abs);
  if (st.isSymbolicLink()) throw new KilnError(`--out ${out} is a symbolic link: give the folder itself`, '');
  if (!st.isDirectory()) throw new KilnError(`--out ${out} is a file, not a folder: choose another --out`, '');
  const entries = readdirSync(abs);
  if (entries.length && !isKilnBuild(abs)) {
    const some = `${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}`;
    throw new KilnError(
      `--out ${out} is not empty and not a previous kiln build ` +
        '(no kiln-bundle.json written by kiln): ' +
        `refusing to replace it (it holds ${some}); choose an empty or new folder`,
      '',
    );
  }
}

export interface StagedOutput {
  /** the folder to write the bundle into */
  readonly dir: string;
  /** checks `out` again, then swaps the staging folder in (the previous build is removed after) */
  commit(): void;
  /** removes the staging folder; `out` stays as it was */
  abort(): void;
}

/** a staging folder beside `out` (same file system, so the final swap is a rename) */
export function stageOutput(out: string, inputs: readonly string[]): StagedOutput {
  checkOutput(out, inputs);
  const abs = path.resolve(out);
  const parent = path.dirname(abs);
  mkdirSync(parent, { recursive: true });
  removeStale(parent, path.basename(abs));
  const dir = mkdtempSync(path.join(parent, `${STAGING}${path.basename(abs)}-${process.pid}-`));
  return {
    dir,
    commit() {
      checkOutput(out, inputs);
      let retired: string | undefined;
      if (existsSync(abs)) {
        retired = path.join(parent, `${RETIRED}${path.basename(abs)}-${process.pid}-${Date.now()}`);
        renameSync(abs, retired);
      }
      try {
        renameSync(dir, abs);
      } catch (e) {
        if (retired) renameSync(retired, abs);
        throw e;
      }
      if (retired) rmSync(retired, { recursive: true, force: true });
    },
    abort() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** staging and retired folders of `name` left by builds that were killed (their process is gone) */
function removeStale(parent: string, name: string): void {
  for (const e of readdirSync(parent)) {
    const m = new RegExp(`^(?:${STAGING}|${RETIRED})${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)-`).exec(e);
    if (!m) continue;
    if (!processAlive(Number(m[1]))) rmSync(path.join(parent, e), { recursive: true, force: true });
  }
}
