// A checkpoint folder's model and optimizer files change together or not at all. saveCheckpoint
// writes both as temporaries, then commits by writing `kiln-checkpoint.json` (atomically) naming
// the final files' SHA-256s and the temporaries, then renames the temporaries into place. A kill
// before the commit leaves the old pair (the temporaries are orphans, removed on the next save or
// load); a kill after it leaves a journal that the next save or load completes (roll forward).
// Loading checks each file against the manifest's hash, so a model from one save never loads
// with an optimizer from another. Folders without the manifest (written by PyTorch, or by hand)
// load as before, unchecked.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { KilnError } from './errors.js';
import {
  readFileWhole,
  removeOrphanTemps,
  sha256Hex as sha256,
  syncDir,
  tempNameFor,
  writeFileAtomic,
  writeFileSynced,
} from './files.js';

export type PairKind = 'model' | 'optimizer';
export const PAIR_MANIFEST = 'kiln-checkpoint.json';
export const PAIR_FILES: Record<PairKind, string> = { model: 'model.safetensors', optimizer: 'optimizer.safetensors' };
const FORMAT = 'kiln-checkpoint-1';

interface PairEntry {
  file: string;
  sha256: string;
  /** the temporary holding it until the rename */ staged?: string;
}
interface PairManifest {
  format: typeof FORMAT;
  files: Partial<Record<PairKind, PairEntry>>;
}

const NAMES = [...Object.values(PAIR_FILES), PAIR_MANIFEST];

function readManifest(dir: string): PairManifest | undefined {
  const file = path.join(dir, PAIR_MANIFEST);
  if (!existsSync(file)) return undefined;
  let m: PairManifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as PairManifest;
  } catch (e) {
    throw new KilnError(`checkpoint ${dir}: ${PAIR_MANIFEST} is not valid JSON (${(e as Error).message})`);
  }
  const entries = Object.entries(m?.files ?? {}) as [PairKind, PairEntry][];
  const plain = (f: unknown) => typeof f === 'string' && path.basename(f) === f && f !== '..' && f !== '.';
  if (
    m?.format !== FORMAT ||
    !entries.every(
      ([k, e]) =>
        PAIR_FILES[k] === e?.file && /^[0-9a-f]{64}$/.test(e.sha256) && (e.staged === undefined || plain(e.staged)),
    )
  ) {
    throw new KilnError(`checkpoint ${dir}: ${PAIR_MANIFEST} is not a kiln checkpoint manifest (format ${FORMAT})`);
  }
  return m;
}

/** completes a committed save a kill interrupted, then removes dead writers' temporaries */
function recover(dir: string, verify = true): PairManifest | undefined {
  const m = readManifest(dir);
  const staged = Object.values(m?.files ?? {}).filter((e) => e.staged);
  for (const e of staged) {
    const tmp = path.join(dir, e.staged!);
    if (existsSync(tmp)) {
      if (verify && sha256(readFileWhole(tmp)) !== e.sha256) {
        throw new KilnError(
          `checkpoint ${dir}: the interrupted save's ${e.staged} does not match ${PAIR_MANIFEST}; ` +
            'the folder was changed by hand',
        );
      }
      renameSync(tmp, path.join(dir, e.file));
    }
    delete e.staged;
  }
  if (m && staged.length) {
    syncDir(dir);
    writeFileAtomic(path.join(dir, PAIR_MANIFEST), JSON.stringify(m, null, 1));
  }
  removeOrphanTemps(dir, NAMES);
  return m;
}

/** writes the files of one save as a unit (see the header); creates `dir` if needed */
export function savePair(dir: string, files: Partial<Record<PairKind, Uint8Array>>): void {
  mkdirSync(dir, { recursive: true });
  recover(dir);
  const m: PairManifest = { format: FORMAT, files: {} };
  const temps: string[] = [];
  try {
    for (const [kind, bytes] of Object.entries(files) as [PairKind, Uint8Array][]) {
      const tmp = tempNameFor(path.join(dir, PAIR_FILES[kind]));
      temps.push(tmp);
      writeFileSynced(tmp, bytes);
      m.files[kind] = { file: PAIR_FILES[kind], sha256: sha256(bytes), staged: path.basename(tmp) };
    }
    writeFileAtomic(path.join(dir, PAIR_MANIFEST), JSON.stringify(m, null, 1)); // the commit
  } catch (e) {
    for (const t of temps) rmSync(t, { force: true });
    throw e;
  }
  // the renames (of files just written): a failure from here on is completed by the next save or load
  recover(dir, false);
}

/**
 * Each requested file parsed by `parse` (which reports a truncated or foreign file in its own
 * words), then checked against the last save's manifest. Finishes an interrupted save first.
 */
export function loadPair<T>(
  dir: string,
  kinds: PairKind[],
  read: (file: string) => Uint8Array,
  parse: (file: string, bytes: Uint8Array) => T,
): Partial<Record<PairKind, T>> {
  const m = existsSync(dir) ? recover(dir) : undefined;
  const out: Partial<Record<PairKind, T>> = {};
  for (const kind of kinds) {
    const file = path.join(dir, PAIR_FILES[kind]);
    const bytes = read(file);
    out[kind] = parse(file, bytes);
    if (m) {
      const e = m.files[kind];
      const saved = Object.values(m.files)
        .map((x) => x.file)
        .join(' and ');
      if (!e) {
        throw new KilnError(
          `checkpoint ${dir}: ${PAIR_FILES[kind]} is not part of the last saveCheckpoint ` +
            `(${PAIR_MANIFEST} names only ${saved}): it would not match`,
        );
      }
      if (sha256(bytes) !== e.sha256) {
        throw new KilnError(
          `checkpoint ${dir}: ${PAIR_FILES[kind]} does not match ${PAIR_MANIFEST} (SHA-256 differs): ` +
            'the files are not from one saveCheckpoint (changed by hand, or by another writer); nothing was loaded',
        );
      }
    }
  }
  return out;
}
