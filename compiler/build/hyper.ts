// Which optimizer hyperparameters a bundle can change at run time. compile() reads numeric ones
// live (host cells `opt<N>.group<i>.<key>[j]`, compiler/optim/live.ts) and re-traces when a
// structural guard (`opt<N>.group<i>.amsgrad`, `...weightDecay!=0`, `...lr>0`) flips; a bundle
// ships one trace, so it records both kinds and the runtime refuses a value that flips a guard.
import type { HyperParam } from '../../runtime/bundle/format.js';
import type { TracedDefinition } from './program.js';

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function hyperSpecs(t: TracedDefinition): { groups: Record<string, HyperParam>[] } | undefined {
  const opt = t.def.optimizer;
  if (!opt) return undefined;
  const groups: Record<string, HyperParam>[] = opt.paramGroups.map((g) => {
    const { params: _, ...rest } = g as Record<string, unknown>;
    return Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, { value: structuredClone(v) }]));
  });
  const num = new RegExp(`^${esc(opt.hostPrefix)}\\.group(\\d+)\\.(\\w+)(?:\\[(\\d+)\\])?$`);
  const guard = new RegExp(`^${esc(opt.hostPrefix)}\\.group(\\d+)\\.(\\w+)(!=0|>0)?$`);
  for (const f of t.functions) {
    for (const { cell } of f.traced.hostCells) {
      const m = num.exec(cell.name);
      const h = m && groups[+m[1]]?.[m[2]];
      if (!h) continue;
      h.host ??= [];
      h.host[m[3] === undefined ? 0 : +m[3]] = cell.name;
    }
    for (const [cell, holds] of f.traced.assumed) {
      const m = guard.exec(cell.name);
      const h = m && groups[+m[1]]?.[m[2]];
      if (!h) continue;
      const rule = m[3] === '!=0' ? 'nonzero' : m[3] === '>0' ? 'positive' : 'flag';
      h.baked ??= [];
      if (!h.baked.some((b) => b.rule === rule)) h.baked.push({ rule, holds });
    }
  }
  return { groups };
}
