// Reading a bundle's files next to its entry: from disk in Node, with fetch in a browser. Every
// path the manifest names must be a plain relative path inside the bundle's folder (no `..`, no
// absolute path, no hidden or encoded segment; in Node, no symbolic link leading out of it), and
// every file is checked against the SHA-256 the manifest records.
import type { FileRef } from './format.js';

const isNode = () => typeof process !== 'undefined' && !!process.versions?.node;

// segments of letters, digits, `_`, `-` and `.`, none starting with `.` (so no `.`, `..` or `%2e`)
const PLAIN_PATH = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$/;

/** throws unless `file` is a plain relative path inside the bundle folder */
export function checkBundlePath(file: unknown, what: string): asserts file is string {
  if (typeof file !== 'string' || file.length > 255 || !PLAIN_PATH.test(file)) {
    throw new Error(
      `kiln bundle: ${what} ${JSON.stringify(file)} ` +
        "is not a plain relative path inside the bundle's folder: " +
        'refusing to read it (the manifest was changed)',
    );
  }
}

async function nodeModules() {
  // variables: browser bundlers leave these alone
  const fsName = 'node:fs/promises',
    urlName = 'node:url',
    pathName = 'node:path';
  const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
  const { fileURLToPath } = (await import(/* @vite-ignore */ urlName)) as typeof import('node:url');
  const path = (await import(/* @vite-ignore */ pathName)) as typeof import('node:path');
  return { fs, fileURLToPath, path };
}

/**
 * Node: the real path of `file` in the bundle at `base`, after checking it stays inside the
 * bundle's real folder once symbolic links are followed.
 */
export async function confinedPath(base: URL, file: string): Promise<string> {
  checkBundlePath(file, 'file');
  const { fs, fileURLToPath, path } = await nodeModules();
  const root = await fs.realpath(fileURLToPath(base));
  let real: string;
  try {
    real = await fs.realpath(fileURLToPath(new URL(file, base)));
  } catch (e) {
    throw new Error(`kiln bundle: cannot read ${file}: ${(e as Error).message}`);
  }
  const rel = path.relative(root, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new Error(
      `kiln bundle: ${file} leads outside the bundle's folder (to ${real}, through a symbolic link): ` +
        'refusing to read it',
    );
  }
  return real;
}

export async function readAsset(base: URL, file: string): Promise<Uint8Array> {
  checkBundlePath(file, 'file');
  const url = new URL(file, base);
  if (url.protocol === 'file:' && isNode()) {
    const { fs } = await nodeModules();
    return new Uint8Array(await fs.readFile(await confinedPath(base, file)));
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`kiln bundle: cannot fetch ${url.href}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes as unknown as ArrayBuffer);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** the file's bytes, after checking its hash (a corrupted or replaced file fails clearly) */
export async function readChecked(base: URL, ref: FileRef): Promise<Uint8Array> {
  const bytes = await readAsset(base, ref.file);
  const got = await sha256(bytes);
  if (got !== ref.sha256) {
    throw new Error(
      `kiln bundle: ${ref.file} has SHA-256 ${got.slice(0, 16)}…, ` +
        `the manifest says ${String(ref.sha256).slice(0, 16)}…: the file was changed or corrupted`,
    );
  }
  return bytes;
}
