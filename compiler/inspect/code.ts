// The generated code of one kernel, through the targets' own renderers (loaded lazily, so
// inspecting WGSL never loads LLVM and vice versa).
import { KilnError } from '../errors.js';
import type { KernelProgram } from '../ir/kernel.js';

export type EmitKind = 'wgsl' | 'llvm' | 'asm';

export async function emitKernel(p: KernelProgram, kernel: number, emit: EmitKind): Promise<string> {
  if (!Number.isInteger(kernel) || kernel < 0 || kernel >= p.kernels.length) {
    throw new KilnError(`--kernel ${kernel}: the program has kernels 0..${p.kernels.length - 1}`, '');
  }
  if (emit === 'wgsl') {
    const { renderKernel } = await import('../../targets/wgsl/index.js');
    return renderKernel(p.kernels[kernel], p).wgsl;
  }
  const llvm = await import('../../targets/llvm/index.js');
  return emit === 'llvm' ? llvm.llvmIR(p, { kernel }) : llvm.nativeAssembly(p, { kernel });
}

/** a few token classes for WGSL, LLVM IR and x86 assembly, as HTML spans */
export function highlight(code: string, lang: EmitKind | 'graph' = 'graph'): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const comment = { wgsl: '\\/\\/[^\\n]*', llvm: ';[^\\n]*', asm: '#[^\\n]*', graph: '(?!x)x' }[lang];
  const re = new RegExp(`(${comment})|` + /("[^"\n]*")|/.source
    + '\\b(fn|let|var|const|for|if|else|return|loop|break|struct|define|declare|ret|br|phi|load|store|call|'
    + 'getelementptr|alloca|icmp|fcmp|select|label|workgroup|storage|uniform|read_write|read)\\b|'
    + /(@[\w.$]+|%[\w.$]+)|\b(f32|i32|u32|i64|i1|float|double|ptr|void|bool|vec[234]|array)\b|/.source
    + /(\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b)/.source, 'g');
  let out = '', last = 0;
  for (const m of code.matchAll(re)) {
    out += esc(code.slice(last, m.index));
    const cls = m[1] ? 'c' : m[2] ? 's' : m[3] ? 'k' : m[4] ? 'v' : m[5] ? 't' : 'n';
    out += `<span class="${cls}">${esc(m[0])}</span>`;
    last = m.index! + m[0].length;
  }
  return out + esc(code.slice(last));
}
