// A kernel's grid points are independent: each writes its own elements and reads only what its own point
// stored (compiler/kernel/schedule.ts rule 3; the WebGPU target runs every point as its own invocation).
// LLVM cannot see that where a kernel reads and writes one buffer (the scratch arena holds every
// intermediate), so its vectorizer gave up on such grid loops and ran them a scalar at a time. Said here
// in the module's text: every load and store joins one access group, and each grid loop's back-edge
// carries llvm.loop.parallel_accesses over it (what OpenMP's `simd` says). Serial loops are left alone.

/** `ir` (one module as text) with its grid loops (blocks named gcond/gloop by kernel.ts) marked parallel */
export function parallelGrids(ir: string): string {
  if (!/\bgcond\d*:/.test(ir)) return ir;
  let next = 1 + Math.max(-1, ...[...ir.matchAll(/!(\d+)\b/g)].map((m) => Number(m[1])));
  const defs: string[] = [];
  const out: string[] = [];
  let group = -1;
  const seen = new Set<string>(),
    locals = new Set<string>();
  for (const line of ir.split('\n')) {
    if (line.startsWith('define ')) {
      group = next++;
      defs.push(`!${group} = distinct !{}`);
      seen.clear();
      locals.clear();
    } else if (line === '}') group = -1;
    if (group < 0) {
      out.push(line);
      continue;
    }
    const label = /^(gcond\d*):/.exec(line);
    if (label) seen.add(label[1]);
    const alloca = /^\s+(%\S+) = alloca /.exec(line);
    if (alloca) locals.add(alloca[1]);
    const access = /^\s+(?:%\S+ = load |store ).*\* (%[\w.]+), align \d+$/.exec(line);
    // buffer accesses only: a local (an accumulator, a loop counter) is reused by every iteration
    if (access && !locals.has(access[1])) {
      out.push(`${line}, !llvm.access.group !${group}`);
      continue;
    }
    const br = /^\s+br label %(gcond\d*)$/.exec(line);
    if (br && seen.has(br[1])) {
      // the back-edge (its target's label came first); the entry branch precedes the label
      const id = next++;
      defs.push(`!${id} = distinct !{!${id}, !${id + 1}}`, `!${id + 1} = !{!"llvm.loop.parallel_accesses", !${group}}`);
      next++;
      out.push(`${line}, !llvm.loop !${id}`);
      continue;
    }
    out.push(line);
  }
  return `${out.join('\n')}\n${defs.join('\n')}\n`;
}
