// Which optimizer hyperparameters a bundle can change at run time. compile() reads numeric ones
// live (host cells, compiler/optim/live.ts) and re-traces when a structural guard (amsgrad,
// weightDecay != 0, momentum > 0) flips; a bundle ships one trace, so it records both kinds, from
// the records the cells carry (runtime/hyper-ref.ts), and the runtime refuses a value that flips a guard.
import type { HyperParam } from '../../runtime/bundle/format.js';
import { HyperCell, HyperGuardCell } from '../optim/live.js';
import type { TracedDefinition } from './program.js';

export function hyperSpecs(t: TracedDefinition): { groups: Record<string, HyperParam>[] } | undefined {
  const opt = t.def.optimizer;
  if (!opt) return undefined;
  const groups: Record<string, HyperParam>[] = opt.paramGroups.map((g) => {
    const { params: _, ...rest } = g as Record<string, unknown>;
    return Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, { value: structuredClone(v) }]));
  });
  for (const f of t.functions) {
    for (const { cell } of f.traced.hostCells) {
      if (!(cell instanceof HyperCell) || cell.ref.optimizer !== opt.liveId) continue;
      const h = groups[cell.ref.group]?.[cell.ref.key];
      if (!h) continue;
      h.host ??= [];
      h.host[cell.ref.index ?? 0] = cell.name;
    }
    for (const [cell, holds] of f.traced.assumed) {
      if (!(cell instanceof HyperGuardCell) || cell.ref.optimizer !== opt.liveId || !('rule' in cell.ref)) continue;
      const { group, key, rule } = cell.ref;
      const h = groups[group]?.[key];
      if (!h) continue;
      h.baked ??= [];
      if (!h.baked.some((b) => b.rule === rule)) h.baked.push({ rule, holds });
    }
  }
  return { groups };
}
