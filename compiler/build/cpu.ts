// The CPU a native bundle needs, recorded at build so the runtime can refuse a machine that lacks
// a feature (runtime/bundle/cpu.ts) instead of dying with SIGILL. The features are the C
// compiler's for the same -march (its predefined macros: `cc -march=<cpu> -dM -E`), written in
// /proc/cpuinfo's words so the runtime compares them without any compiler.
import { spawnSync } from 'node:child_process';
import type { CpuTarget } from '../../runtime/bundle/format.js';
import { hostCpu } from '../../targets/llvm/toolchain.js';

// predefined macro -> /proc/cpuinfo flag (x86 `flags`, arm64 `Features`)
const X86: Record<string, string> = {
  __SSE__: 'sse',
  __SSE2__: 'sse2',
  __SSE3__: 'pni',
  __SSSE3__: 'ssse3',
  __SSE4_1__: 'sse4_1',
  __SSE4_2__: 'sse4_2',
  __POPCNT__: 'popcnt',
  __GCC_HAVE_SYNC_COMPARE_AND_SWAP_16: 'cx16',
  __AVX__: 'avx',
  __AVX2__: 'avx2',
  __FMA__: 'fma',
  __F16C__: 'f16c',
  __BMI__: 'bmi1',
  __BMI2__: 'bmi2',
  __LZCNT__: 'abm',
  __MOVBE__: 'movbe',
  __ADX__: 'adx',
  __AVX512F__: 'avx512f',
  __AVX512CD__: 'avx512cd',
  __AVX512BW__: 'avx512bw',
  __AVX512DQ__: 'avx512dq',
  __AVX512VL__: 'avx512vl',
  __AVX512IFMA__: 'avx512ifma',
  __AVX512VBMI__: 'avx512vbmi',
  __AVX512VBMI2__: 'avx512_vbmi2',
  __AVX512VNNI__: 'avx512_vnni',
  __AVX512BF16__: 'avx512_bf16',
  __AVX512BITALG__: 'avx512_bitalg',
  __AVX512VPOPCNTDQ__: 'avx512_vpopcntdq',
  __AVX512FP16__: 'avx512_fp16',
  __AVXVNNI__: 'avx_vnni',
  __GFNI__: 'gfni',
  __VAES__: 'vaes',
  __VPCLMULQDQ__: 'vpclmulqdq',
  __AES__: 'aes',
  __PCLMUL__: 'pclmulqdq',
  __SHA__: 'sha_ni',
};
const ARM: Record<string, string> = {
  __ARM_NEON: 'asimd',
  __ARM_FEATURE_SVE: 'sve',
  __ARM_FEATURE_SVE2: 'sve2',
  __ARM_FEATURE_DOTPROD: 'asimddp',
  __ARM_FEATURE_FP16_VECTOR_ARITHMETIC: 'asimdhp',
  __ARM_FEATURE_BF16: 'bf16',
  __ARM_FEATURE_MATMUL_INT8: 'i8mm',
  __ARM_FEATURE_ATOMICS: 'atomics',
};

/** `cpu` as given to -mcpu ('native' resolves to the build machine's CPU name) */
export function cpuTargetOf(cpu: string): CpuTarget {
  const arm = process.arch === 'arm64';
  const flag = arm ? (cpu === 'native' ? '-mcpu=native' : `-mcpu=${cpu}`) : `-march=${cpu}`;
  const r = spawnSync(process.env.KILN_CC ?? 'cc', [flag, '-dM', '-E', '-'], { input: '', encoding: 'utf8' });
  // a name cc does not know (LLVM-only) records no features: the runtime then checks only the arch
  const macros = r.status === 0 ? new Set(r.stdout.split('\n').map((l) => l.split(' ')[1])) : new Set<string>();
  const table = arm ? ARM : X86;
  const features = Object.entries(table)
    .filter(([m]) => macros.has(m))
    .map(([, f]) => f);
  return { name: cpu === 'native' ? hostCpu() : cpu, arch: process.arch, features: [...new Set(features)] };
}
