// The 'native' target: a DeviceBackend over the native runtime. Graph -> kernels with the
// scheduler (one StateLayout per device), kernels -> LLVM IR -> opt/llc/cc -> a shared library
// (cached by content hash), run with one foreign call per step. llvm-bindings and koffi load on
// first use, so importing kiln costs nothing on machines without the toolchain.
import { registerBackend, type ProgramStats } from '../backend.js';
import { DeviceBackend } from '../device-backend.js';
import type { ScheduleOptions } from '../kernel/schedule.js';

export interface NativeTargetOptions {
  name?: string;
  schedule?: ScheduleOptions;
}

async function loadCompiler() {
  const [{ schedule }, { StateLayout }, { programStats }, { compileNativeAsync }] = await Promise.all([
    import('../kernel/schedule.js'),
    import('../kernel/memory.js'),
    import('../kernel/stats.js'),
    import('../../targets/llvm/index.js'),
  ]);
  return { schedule, StateLayout, programStats, compileNativeAsync };
}

export async function createNativeBackend(opts: NativeTargetOptions = {}): Promise<DeviceBackend> {
  const c = await loadCompiler();
  const { createNativeDevice } = await import('../../runtime/native/index.js');
  const device = createNativeDevice();
  const layout = new c.StateLayout(); // lives as long as the device's arenas
  return new DeviceBackend({
    name: opts.name ?? 'native',
    device,
    lower: (t) => c.schedule(t.graph, layout, opts.schedule),
    build: (kp) => c.compileNativeAsync(kp),
    stats: (kp): ProgramStats => c.programStats(kp),
  });
}

/** whether the LLVM toolchain is usable here (for defaults that fall back to 'reference') */
export async function nativeAvailable(): Promise<{ ok: true } | { ok: false; why: string }> {
  try {
    await loadCompiler();
    await import('../../runtime/native/index.js');
    const { execFileSync } = await import('node:child_process');
    for (const tool of [process.env.KILN_OPT ?? 'opt', process.env.KILN_LLC ?? 'llc']) {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, why: (e as Error).message.split('\n')[0] };
  }
}

registerBackend('native', () => createNativeBackend());
