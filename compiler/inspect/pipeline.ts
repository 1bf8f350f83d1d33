// The compiler's stages for one traced function, as `kiln inspect` and `kiln build` see them:
// the graph after tracing and after each graph pass, then the scheduled KernelProgram. The stages
// replay compiler/passes' runPasses (simplify, CSE, DCE until the graph stops shrinking),
// recording each pass that changed the graph; the kernels come from the scheduler's own call.
import { countNodes } from '../passes/rewrite.js';
import { cse, dce, simplify } from '../passes/index.js';
import { schedule, type ScheduleOptions } from '../kernel/schedule.js';
import { StateLayout } from '../kernel/memory.js';
import { printGraph, type GraphProgram } from '../ir/graph.js';
import type { KernelProgram } from '../ir/kernel.js';
import type { TracedProgram } from '../trace.js';

export interface GraphStage {
  name: string;
  graph: GraphProgram;
  /** rules that fired (simplify) */
  fired?: Record<string, number>;
}
export interface Lowered { stages: GraphStage[]; kernels: KernelProgram }

/** one lowering over a shared state layout: cells keep one offset across every function */
export interface Lowering { layout: StateLayout; lower(traced: TracedProgram): Lowered }

export function graphPasses(g: GraphProgram): GraphStage[] {
  const stages: GraphStage[] = [{ name: 'trace', graph: g }];
  let p = g;
  let n = countNodes(p);
  for (let i = 0; i < 8; i++) {
    const round = i ? ` (round ${i + 1})` : '';
    const fired = new Map<string, number>();
    const steps: [string, (q: GraphProgram) => GraphProgram][] = [
      ['simplify', (q) => simplify(q, undefined, fired)], ['cse', cse], ['dce', dce],
    ];
    for (const [name, pass] of steps) {
      const before = printGraph(p);
      p = pass(p);
      if (printGraph(p) !== before) {
        stages.push({
          name: `${name}${round}`,
          graph: p,
          ...(name === 'simplify' ? { fired: Object.fromEntries(fired) } : {}),
        });
      }
    }
    const m = countNodes(p);
    if (m >= n && i > 0) break;
    n = m;
  }
  return stages;
}

export function createLowering(layout = new StateLayout(), options: ScheduleOptions = {}): Lowering {
  return {
    layout,
    lower(traced) {
      const stages = graphPasses(traced.graph); // for display
      // exactly the call the targets make (passes included), so a bundle runs what compile() runs
      const kernels = schedule(traced.graph, layout, options);
      return { stages, kernels };
    },
  };
}
