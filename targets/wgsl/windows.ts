// Binding windows: a buffer larger than one storage binding may be (maxStorageBufferBindingSize; 128 MiB on
// every device by default, llvmpipe's too) is bound as several windows, each an offset and a size of the same
// GPUBuffer, and each load or store indexes the window holding its span: an Adam over 1e7 parameters keeps
// p, grad, exp_avg and exp_avg_sq in one 160 MB state arena, but each role's 40 MB is a window of its own.
// Windows of one buffer never overlap (WebGPU refuses writable bindings that alias); a window starts at the
// binding offset alignment (256 bytes) at or below its first element. Buffers within the limit stay whole.
import type { Kernel } from '../../compiler/ir/kernel.js';
import { forEachAccess, type Access, type Span } from '../../compiler/kernel/traffic.js';
import { LARGE_ALIGN } from '../../compiler/kernel/memory.js';

/** WebGPU's default maxStorageBufferBindingSize: what every device binds (llvmpipe no more) */
export const DEFAULT_MAX_BINDING_BYTES = 128 * 1024 * 1024;
/** WebGPU's minStorageBufferOffsetAlignment (256 bytes) in elements, which large placements start at too */
const ALIGN_ELEMENTS = LARGE_ALIGN;

export interface Window {
  name: string;
  buf: number;
  /** first element of the buffer it binds, and how many */
  base: number;
  length: number;
  written: boolean;
}

export interface Windows {
  /** the buffers bound as windows */
  windowed: Set<number>;
  byAccess: Map<Access, Window>;
}

/** the windows of `k`'s buffers past `maxBytes` (undefined: every buffer fits one binding) */
export function bindingWindows(k: Kernel, sizes: readonly number[], maxBytes: number): Windows | undefined {
  const big = (b: number) => 4 * sizes[b] > maxBytes;
  const accesses = new Map<number, { node: Access; span: Span; store: boolean }[]>();
  forEachAccess(k, (buf, span, node, store) => {
    if (!big(buf)) return;
    // unknown: the whole buffer, which no window holds
    const s: Span = span ? [Math.max(0, span[0]), Math.min(sizes[buf] - 1, span[1])] : [0, sizes[buf] - 1];
    accesses.set(buf, [...(accesses.get(buf) ?? []), { node, span: s, store }]);
  });
  if (!accesses.size) return undefined;
  const maxElements = Math.floor(maxBytes / 4);
  const windowed = new Set<number>(),
    byAccess = new Map<Access, Window>();
  for (const [buf, list] of accesses) {
    windowed.add(buf);
    const sorted = [...list].sort((a, b) => a.span[0] - b.span[0]);
    let cur: Window | undefined;
    let n = 0;
    for (const a of sorted) {
      const [lo, hi] = a.span;
      if (hi - lo + 1 > maxElements - ALIGN_ELEMENTS) {
        throw new Error(
          `a ${a.store ? 'store to' : 'load of'} buffer ${buf} spans ${4 * (hi - lo + 1)} bytes, more than one ` +
            `storage binding may hold (${maxBytes}): such a kernel would have to be split`,
        );
      }
      // join the window while it fits; else start one at the aligned element at or below lo, past the last
      if (cur && hi - cur.base + 1 <= maxElements) cur.length = Math.max(cur.length, hi - cur.base + 1);
      else {
        const base = Math.max(cur ? cur.base + cur.length : 0, Math.floor(lo / ALIGN_ELEMENTS) * ALIGN_ELEMENTS);
        if (base % ALIGN_ELEMENTS) {
          throw new Error(`buffer ${buf}: accesses at ${lo} and below ${base} share an alignment unit of two windows`);
        }
        cur = { name: `b${buf}_w${n++}`, buf, base, length: hi - base + 1, written: false };
      }
      cur.written ||= a.store;
      byAccess.set(a.node, cur);
    }
  }
  return { windowed, byAccess };
}
