// File I/O that checkpoints and `save` share: atomic replacement (a temporary file in the same
// folder, fsync, rename), whole-file reads past Node's 2 GiB `readFile` limit (positional reads in
// chunks), and removal of the temporaries a killed writer left behind.
import {
  closeSync,
  fstatSync,
  fsyncSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';

/** bytes per read or write call: below the 2 GiB a single call moves, far above what is efficient */
export const IO_CHUNK_BYTES = 1 << 30;

/** hex SHA-256 of any size of bytes (one Hash.update takes at most 2 GiB) */
export function sha256Hex(bytes: Uint8Array, chunk = IO_CHUNK_BYTES): string {
  const h = createHash('sha256');
  for (let off = 0; off < bytes.length; off += chunk) h.update(bytes.subarray(off, off + chunk));
  return h.digest('hex');
}

const TMP_SUFFIX = '.tmp';
/** `.<name>.<pid>.<time>.tmp`: the pid tells a live writer's file from a dead one's */
export const tempNameFor = (file: string): string => {
  const unique = `${Date.now()}${Math.random().toString(36).slice(2, 6)}`;
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${unique}${TMP_SUFFIX}`);
};
const TEMP_RE = /^\.(.+)\.(\d+)\.[0-9a-z]+\.tmp$/;

/** writes all of `bytes` to `file` (created or truncated), fsynced, `chunk` bytes per call */
export function writeFileSynced(file: string, bytes: Uint8Array, chunk = IO_CHUNK_BYTES): void {
  const fd = openSync(file, 'w');
  try {
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, Math.min(chunk, bytes.length - off));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** writes bytes to `file` atomically: readers see the old file or the whole new one */
export function writeFileAtomic(file: string, bytes: Uint8Array | string, chunk = IO_CHUNK_BYTES): void {
  const tmp = tempNameFor(file);
  try {
    writeFileSynced(tmp, typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes, chunk);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  syncDir(path.dirname(file));
}

/** makes renames in `dir` durable (where the platform lets a folder be fsynced) */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* Windows cannot open a folder: rename is durable there */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** the whole file, any size (fs.readFile stops at 2 GiB), read `chunk` bytes per call */
export function readFileWhole(file: string, chunk = IO_CHUNK_BYTES): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const out = new Uint8Array(size);
    for (let off = 0; off < size;) {
      const n = readSync(fd, out, off, Math.min(chunk, size - off), off);
      if (n === 0) throw new Error(`${file} shrank while being read (${off} of ${size} bytes)`);
      off += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** whether process `pid` still runs (its temporaries are a write in progress) */
export const processAlive = (pid: number): boolean => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Removes the temporaries of `names` in `dir` that a writer which no longer runs left behind
 * (killed mid-save); a live process's are its save in progress and stay. `keep`: files to leave.
 */
export function removeOrphanTemps(dir: string, names: readonly string[], keep = new Set<string>()): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const e of entries) {
    const m = TEMP_RE.exec(e);
    if (!m || !names.includes(m[1]) || keep.has(e) || processAlive(Number(m[2]))) continue;
    rmSync(path.join(dir, e), { force: true });
    removed.push(e);
  }
  return removed;
}
