// The graph pass pipeline run before scheduling: simplify (rules + constant folding), CSE, DCE,
// repeated until the graph stops shrinking (CSE can expose new rule matches and back).
import type { GraphProgram } from '../ir/graph.js';
import { cse } from './cse.js';
import { dce } from './dce.js';
import { countNodes } from './rewrite.js';
import { simplify } from './rules.js';

export { cse } from './cse.js';
export { dce } from './dce.js';
export { simplify, simplifyNode, RULES, constOf, type Rule } from './rules.js';
export { rewriteProgram } from './rewrite.js';

/** one pass of the pipeline as it ran: `kiln inspect` shows the graph after each */
export interface PassRun {
  pass: 'simplify' | 'cse' | 'dce';
  /** 0 for the first round */
  round: number;
  /** the graph this pass returned */
  graph: GraphProgram;
  /** simplify: the rules that fired in this pass, by name */
  fired?: ReadonlyMap<string, number>;
}

export interface PassOptions {
  /** counts every rule that fires, over all rounds */
  fired?: Map<string, number>;
  /** called after every pass, in order */
  onPass?: (run: PassRun) => void;
}

export function runPasses(p: GraphProgram, opts: PassOptions = {}): GraphProgram {
  const { fired, onPass } = opts;
  let n = countNodes(p);
  for (let i = 0; i < 8; i++) {
    // with onPass, a map of its own per round, so each simplify reports only the rules it fired
    const roundFired = onPass ? new Map<string, number>() : fired;
    p = simplify(p, undefined, roundFired);
    if (onPass) {
      for (const [rule, k] of roundFired!) fired?.set(rule, (fired.get(rule) ?? 0) + k);
      onPass({ pass: 'simplify', round: i, graph: p, fired: roundFired });
    }
    p = cse(p);
    onPass?.({ pass: 'cse', round: i, graph: p });
    p = dce(p);
    onPass?.({ pass: 'dce', round: i, graph: p });
    const m = countNodes(p);
    if (m >= n && i > 0) break;
    n = m;
  }
  return p;
}
