// The target machine: its triple, and what its CPU's vector register file looks like, from the
// `cpu` option (`native` → this host), so compiler/kernel/opt-cpu.ts can size register blocks to it: a block
// whose accumulators and operands outnumber the registers spills to the stack in its innermost loop.
import { readFileSync } from 'node:fs';
import llvm from 'llvm-bindings';
import { hostCpu } from './toolchain.js';

/** the triple native code is built for: this host's unless KILN_LLVM_TRIPLE names another */
export function hostTriple(): string {
  return process.env.KILN_LLVM_TRIPLE ?? llvm.config.LLVM_HOST_TRIPLE;
}

export interface CpuProfile {
  /** width of one vector register in bits (SSE/NEON 128, AVX/AVX2 256, AVX-512 512) */
  vectorBits: number;
  /** architectural vector registers (x86 before AVX-512: 16; AVX-512 and aarch64: 32) */
  vectorRegs: number;
}

const AVX512 = { vectorBits: 512, vectorRegs: 32 },
  AVX = { vectorBits: 256, vectorRegs: 16 };
const SSE = { vectorBits: 128, vectorRegs: 16 },
  NEON = { vectorBits: 128, vectorRegs: 32 };

/** LLVM x86 CPU names by vector level (anything else x86 is taken as SSE: the safe assumption) */
const X86_512 = new RegExp(
  'avx512|x86-64-v4|knl|knm|cannonlake|icelake|tigerlake|cascadelake|cooperlake|rocketlake|' +
    'sapphirerapids|graniterapids|emeraldrapids|znver[4-9]',
);
const X86_256 = new RegExp(
  'x86-64-v3|sandybridge|ivybridge|corei7-avx|core-avx|haswell|broadwell|skylake|alderlake|raptorlake|' +
    'meteorlake|arrowlake|lunarlake|gracemont|bdver|btver2|znver',
);

function x86Named(cpu: string): CpuProfile {
  return X86_512.test(cpu) ? AVX512 : X86_256.test(cpu) ? AVX : SSE;
}

let nativeX86: CpuProfile | undefined;
/** this host's level: its /proc/cpuinfo flags (what -mcpu=native enables), else llc's name for it */
function hostX86(): CpuProfile {
  if (nativeX86) return nativeX86;
  try {
    const flags = new Set(
      /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim().split(/\s+/) ?? [],
    );
    if (flags.size) return (nativeX86 = flags.has('avx512f') ? AVX512 : flags.has('avx') ? AVX : SSE);
  } catch {
    /* not Linux: ask llc */
  }
  return (nativeX86 = x86Named(hostCpu()));
}

/** the register file of `cpu` (an -mcpu name or `native`) on `triple` */
export function cpuProfile(cpu: string, triple: string = hostTriple()): CpuProfile {
  const arch = triple.split('-')[0];
  if (arch === 'aarch64' || arch === 'arm64') return NEON; // SVE's wider registers are not used
  if (arch === 'x86_64' || /^i\d86$/.test(arch)) return cpu === 'native' ? hostX86() : x86Named(cpu);
  return SSE; // 128-bit vectors, 16 registers: small blocks that fit anywhere
}
