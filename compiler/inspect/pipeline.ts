// The compiler's stages for one traced function, as `kiln inspect` and `kiln build` see them:
// the graph after tracing and after each graph pass, then the scheduled KernelProgram. The stages
// are compiler/passes' runPasses itself (simplify, CSE, DCE until the graph stops shrinking), each
// pass that changed the graph recorded through onPass; the kernels come from the scheduler's own call.
import { runPasses } from '../passes/index.js';
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
export interface Lowered {
  stages: GraphStage[];
  kernels: KernelProgram;
}

/** one lowering over a shared state layout: cells keep one offset across every function */
export interface Lowering {
  layout: StateLayout;
  lower(traced: TracedProgram): Lowered;
}

export function graphPasses(g: GraphProgram): GraphStage[] {
  const stages: GraphStage[] = [{ name: 'trace', graph: g }];
  let shown = printGraph(g);
  runPasses(g, {
    onPass({ pass, round, graph, fired }) {
      const text = printGraph(graph);
      if (text === shown) return; // a pass that changed nothing is not a stage
      shown = text;
      stages.push({
        name: `${pass}${round ? ` (round ${round + 1})` : ''}`,
        graph,
        ...(fired ? { fired: Object.fromEntries(fired) } : {}),
      });
    },
  });
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
