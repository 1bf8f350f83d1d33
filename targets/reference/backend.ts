// The reference backend: runs the traced graph with the graph interpreter, keeping state in the
// host cells themselves (the host copy is always the latest after a reference run).
import type { Backend, ProgramStats } from '../../compiler/backend.js';
import { pullToHost, pullToHostSync } from '../../compiler/backend.js';
import type { SyncPreparedProgram } from '../../compiler/device-backend.js';
import type { TracedProgram } from '../../compiler/trace.js';
import type { TensorCell } from '../../compiler/state.js';
import type { HostArray } from '../../runtime/device.js';
import { evaluateNodes, type Values } from './graph.js';
import type { Node } from '../../compiler/ir/graph.js';
import { toposort, isView, isSource, numel } from '../../compiler/ir/graph.js';

export function graphStats(program: TracedProgram): ProgramStats {
  const g = program.graph;
  const nodes = toposort([...g.outputs, ...g.updates.map((u) => u.value)]).filter(
    (n) => !isView(n.op) && !isSource(n.op),
  );
  const bytes = (n: { shape: readonly number[] }) => 4 * numel(n.shape);
  const perKernel = nodes.map((n) => ({
    name: `${n.op}_${n.id}`,
    ops: [n.op],
    flops: numel(n.src[0]?.shape ?? n.shape),
    bytesRead: n.src.reduce((a, s) => a + bytes(s), 0),
    bytesWritten: bytes(n),
  }));
  return {
    kernels: perKernel.length,
    launchesPerRun: perKernel.length,
    bytesPerRun: perKernel.reduce((a, k) => a + k.bytesRead + k.bytesWritten, 0),
    perKernel,
  };
}

export class ReferenceBackend implements Backend {
  readonly name = 'reference';

  async pull(): Promise<void> {
    /* the host copy is always current */
  }
  async syncAll(): Promise<void> {}

  async prepare(program: TracedProgram): Promise<SyncPreparedProgram> {
    const { graph, cells } = program;
    const evaluate = (inputs: HostArray[], scalars: Float32Array): HostArray[] => {
      const env = (n: Node): Values => {
        if (n.op === 'input') return inputs[n.arg.index];
        if (n.op === 'state') return cells.get(n.arg.cell)!.data;
        if (n.op === 'scalar') return scalars.subarray(n.arg.slot, n.arg.slot + 1);
        throw new Error(`reference: unexpected source ${n.op}`);
      };
      const roots = [...graph.outputs, ...graph.updates.map((u) => u.value)];
      const values = evaluateNodes(roots, env);
      // every update read the state as it was on entry; write them all at the end
      graph.updates.forEach((u, i) => {
        const cell = cells.get(u.cell) as TensorCell;
        cell.write(values[graph.outputs.length + i]);
      });
      return values.slice(0, graph.outputs.length).map((v) => (v instanceof Uint8Array ? Int32Array.from(v) : v));
    };
    return {
      // synchronous unless a cell's latest value is on a device that cannot be read without waiting
      runSync: (inputs, scalars) => (pullToHostSync(cells.values()) ? evaluate(inputs, scalars) : undefined),
      run: async (inputs: HostArray[], scalars: Float32Array) => {
        await pullToHost(cells.values());
        return evaluate(inputs, scalars);
      },
      stats: () => graphStats(program),
    };
  }
}
