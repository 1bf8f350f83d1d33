// The 'native' target: a DeviceBackend over the native runtime. Graph -> kernels with the
// scheduler (one StateLayout per device), kernels -> LLVM IR -> opt/llc/cc -> a shared library
// (cached by content hash), run with one foreign call per step; in a bundle, the library file itself;
// for `kiln inspect`, LLVM IR or the assembly. llvm-bindings and koffi load on first use, so
// importing kiln costs nothing on machines without the toolchain.
import type { ProgramStats } from '../backend.js';
import { DeviceBackend } from '../device-backend.js';
import type { ScheduleOptions } from '../kernel/schedule.js';
import type { CompilerTarget } from './descriptor.js';
import type { BundleCode } from '../../runtime/bundle/format.js';

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

export const nativeTarget: CompilerTarget = {
  name: 'native',
  backends: { native: () => createNativeBackend() },
  bundle: {
    name: 'native',
    summary: 'native (LLVM, Node)',
    folder: 'native',
    dependencies: ['koffi'],
    async write(programs, names, { progress, copy, cpu }) {
      const { compileNativeAsync } = await import('../../targets/llvm/index.js');
      const code: BundleCode[] = [];
      let builtFor: string | undefined;
      for (const [i, kp] of programs.entries()) {
        await progress.stage(`native: ${names[i]} (LLVM)`, async () => {
          const a = await compileNativeAsync(kp, cpu ? { cpu } : {});
          code.push({ manifest: a.manifest, entry: a.code.entry, code: copy(`native/${names[i]}.so`, a.code.library) });
          builtFor = a.code.cpu;
        });
      }
      return { code, ...(builtFor ? { cpu: builtFor } : {}) };
    },
  },
  emit: {
    llvm: {
      label: 'LLVM IR',
      render: async (p, kernel) => (await import('../../targets/llvm/index.js')).llvmIR(p, { kernel }),
      comment: ';[^\\n]*',
    },
    asm: {
      label: 'x86 assembly',
      render: async (p, kernel) => (await import('../../targets/llvm/index.js')).nativeAssembly(p, { kernel }),
      comment: '#[^\\n]*',
    },
  },
};
