// A Web Worker for jax-js's Wasm backend in Node: jax-js runs its Wasm kernels on a pool of `new Worker(blobURL)`
// (a browser global Node lacks; without one it runs them on the main thread, one thread). This shim runs the
// worker's script on node:worker_threads: the blob's text with `self`, `onmessage` and `postMessage` bridged to
// the parent port. Install it BEFORE importing @jax-js/jax: its Wasm backend decides on shared memory at import.
import { resolveObjectURL } from 'node:buffer';
import { Worker as NodeWorker } from 'node:worker_threads';

const PRELUDE = `
const { parentPort } = require('node:worker_threads');
globalThis.self = globalThis;
globalThis.postMessage = (m) => parentPort.postMessage(m);
parentPort.on('message', (data) => globalThis.onmessage && globalThis.onmessage({ data }));
`;

class WorkerShim {
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onerror: ((e: { message: string }) => void) | null = null;
  readonly #w: Promise<NodeWorker>;
  constructor(url: string | URL) {
    const blob = resolveObjectURL(String(url));
    if (!blob) throw new Error(`worker shim: ${String(url)} is not a blob URL`);
    this.#w = blob.text().then((src) => {
      const w = new NodeWorker(PRELUDE + src, { eval: true });
      w.on('message', (data) => this.onmessage?.({ data }));
      w.on('error', (e) => this.onerror?.({ message: e.message }));
      return w;
    });
  }
  postMessage(m: unknown): void {
    void this.#w.then((w) => w.postMessage(m));
  }
  terminate(): void {
    void this.#w.then((w) => w.terminate());
  }
}

/** jax-js's Wasm backend will use `threads` workers (navigator.hardwareConcurrency) */
export function installWorkerShim(threads: number): void {
  Object.assign(globalThis, { Worker: WorkerShim });
  const nav = (globalThis as { navigator?: object }).navigator ?? {};
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...nav, hardwareConcurrency: threads, userAgent: 'Node.js' },
    configurable: true,
  });
}
