// Reading a bundle's files next to its entry: from disk in Node, with fetch in a browser; every
// file is checked against the SHA-256 the manifest records.
import type { FileRef } from './format.js';

const isNode = () => typeof process !== 'undefined' && !!process.versions?.node;

export async function readAsset(base: URL, file: string): Promise<Uint8Array> {
  const url = new URL(file, base);
  if (url.protocol === 'file:' && isNode()) {
    const fsName = 'node:fs/promises', urlName = 'node:url'; // variables: browser bundlers leave these alone
    const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
    const { fileURLToPath } = (await import(/* @vite-ignore */ urlName)) as typeof import('node:url');
    return new Uint8Array(await fs.readFile(fileURLToPath(url)));
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
  if (got !== ref.sha256) throw new Error(`kiln bundle: ${ref.file} has SHA-256 ${got.slice(0, 16)}…, the manifest says ${ref.sha256.slice(0, 16)}…: the file was changed or corrupted`);
  return bytes;
}
