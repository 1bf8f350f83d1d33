// The generated code of one kernel, through the targets' own renderers (compiler/targets/registry.ts;
// each loads its target lazily, so inspecting WGSL never loads LLVM and vice versa).
import { KilnError } from '../errors.js';
import type { KernelProgram } from '../ir/kernel.js';
import { emitKinds, type EmitKindSpec } from '../targets/registry.js';

/** a kind of code `--emit` offers: 'wgsl', 'llvm', 'asm' (emitKinds()) */
export type EmitKind = string;

function emitKind(emit: EmitKind): EmitKindSpec {
  const spec = emitKinds().find(([k]) => k === emit)?.[1];
  if (!spec) {
    throw new KilnError(
      `--emit ${emit}: no target renders it (${emitKinds()
        .map(([k]) => k)
        .join(', ')})`,
      '',
    );
  }
  return spec;
}

export async function emitKernel(p: KernelProgram, kernel: number, emit: EmitKind): Promise<string> {
  if (!Number.isInteger(kernel) || kernel < 0 || kernel >= p.kernels.length) {
    throw new KilnError(`--kernel ${kernel}: the program has kernels 0..${p.kernels.length - 1}`, '');
  }
  return emitKind(emit).render(p, kernel);
}

/** a few token classes for the code every target emits (and graphs), as HTML spans */
export function highlight(code: string, lang: EmitKind | 'graph' = 'graph'): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const comment = lang === 'graph' ? '(?!x)x' : emitKind(lang).comment;
  const re = new RegExp(
    `(${comment})|` +
      /("[^"\n]*")|/.source +
      '\\b(fn|let|var|const|for|if|else|return|loop|break|struct|define|declare|ret|br|phi|load|store|call|' +
      'getelementptr|alloca|icmp|fcmp|select|label|workgroup|storage|uniform|read_write|read)\\b|' +
      /(@[\w.$]+|%[\w.$]+)|\b(f32|i32|u32|i64|i1|float|double|ptr|void|bool|vec[234]|array)\b|/.source +
      /(\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b)/.source,
    'g',
  );
  let out = '',
    last = 0;
  for (const m of code.matchAll(re)) {
    out += esc(code.slice(last, m.index));
    const cls = m[1] ? 'c' : m[2] ? 's' : m[3] ? 'k' : m[4] ? 'v' : m[5] ? 't' : 'n';
    out += `<span class="${cls}">${esc(m[0])}</span>`;
    last = m.index! + m[0].length;
  }
  return out + esc(code.slice(last));
}
