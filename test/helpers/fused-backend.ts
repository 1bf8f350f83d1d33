// The 'fused' target for tests: a backend that schedules each traced program
// (compiler/kernel/schedule.ts) and runs the KernelProgram with the kernel-IR interpreter, which
// throws on any load or store outside a buffer. Importing this module registers it.
import type { Backend, PreparedProgram } from '../../compiler/backend.js';
import { pullToHost, registerBackend } from '../../compiler/backend.js';
import type { TracedProgram } from '../../compiler/trace.js';
import type { HostArray } from '../../runtime/device.js';
import { numel } from '../../runtime/manifest.js';
import { StateLayout } from '../../compiler/kernel/memory.js';
import { schedule } from '../../compiler/kernel/schedule.js';
import { programStats } from '../../compiler/kernel/stats.js';
import { runKernelProgram, type Memory } from '../../targets/reference/kernels.js';

class FusedBackend implements Backend {
  readonly name = 'fused';
  readonly layout = new StateLayout();
  async pull(): Promise<void> {
    /* cells are written back to the host after every run */
  }
  async syncAll(): Promise<void> {}
  async prepare(tp: TracedProgram): Promise<PreparedProgram> {
    const prog = schedule(tp.graph, this.layout);
    return {
      run: async (inputs: HostArray[], scalars: Float32Array) => {
        await pullToHost(tp.cells.values());
        const mem: Memory[] = prog.buffers.map((b) => new (b.dtype === 'f32' ? Float32Array : Int32Array)(b.size));
        prog.inputs.forEach((p, i) => mem[p.buf].set(inputs[i], p.offset));
        for (const c of prog.cells) mem[c.buf].set(tp.cells.get(c.cell)!.data, c.offset);
        runKernelProgram(prog, mem, scalars);
        for (const u of tp.graph.updates) {
          const c = prog.cells.find((x) => x.cell === u.cell);
          if (!c) continue; // simplified away: c <- c
          const n = numel(c.shape);
          tp.cells.get(u.cell)!.write(mem[c.buf].slice(c.offset, c.offset + n));
        }
        return prog.outputs.map((p) => mem[p.buf].slice(p.offset, p.offset + numel(p.shape)) as HostArray);
      },
      stats: () => programStats(prog),
    };
  }
}

registerBackend('fused', async () => new FusedBackend());
