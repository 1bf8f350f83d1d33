// A native bundle is machine code for one CPU (`-mcpu`); on a CPU without one of its features it
// dies with SIGILL mid-run. So the build records the features (in /proc/cpuinfo's words) and load
// refuses, before the library is opened, on a machine that lacks any, saying how to rebuild.
import type { BundleManifest } from './format.js';

/** this machine's CPU features from /proc/cpuinfo (Linux x86 `flags`, arm `Features`), or undefined */
export async function hostCpuFeatures(): Promise<Set<string> | undefined> {
  try {
    const fsName = 'node:fs/promises'; // a variable: browser bundlers leave it alone
    const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
    const text = await fs.readFile('/proc/cpuinfo', 'utf8');
    const line = /^(?:flags|Features)\s*:(.*)$/m.exec(text);
    return line ? new Set(line[1].trim().split(/\s+/)) : undefined;
  } catch {
    return undefined; // not Linux: nothing to check against
  }
}

/** throws when this machine cannot run the bundle's native code */
export function checkCpu(m: BundleManifest, arch: string, have: Set<string> | undefined): void {
  const t = m.cpuTarget;
  if (!t) return;
  const rebuild =
    'rebuild it on or for this machine (`kiln build --cpu native`, ' +
    'or a portable level such as `kiln build --cpu x86-64-v2`), ' +
    `or load({ target: 'webgpu' })${m.targets.includes('webgpu') ? '' : ' from a bundle built with it'}`;
  if (t.arch !== arch) {
    throw new Error(
      `kiln bundle ${m.name}: its native code is for ${t.arch} (CPU '${t.name}'), this machine is ${arch}: ${rebuild}`,
    );
  }
  if (!have) return;
  const missing = t.features.filter((f) => !have.has(f));
  if (missing.length) {
    throw new Error(
      `kiln bundle ${m.name}: its native code was built for CPU '${t.name}' ` +
        `and uses features this CPU lacks: ${missing.join(', ')} (running it would crash with SIGILL); ${rebuild}`,
    );
  }
}
