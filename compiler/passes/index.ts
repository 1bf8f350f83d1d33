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

export function runPasses(p: GraphProgram, fired?: Map<string, number>): GraphProgram {
  let n = countNodes(p);
  for (let i = 0; i < 8; i++) {
    p = dce(cse(simplify(p, undefined, fired)));
    const m = countNodes(p);
    if (m >= n && i > 0) break;
    n = m;
  }
  return p;
}
