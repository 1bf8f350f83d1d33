// What the example CLIs share: `--name value` / `--name=value` arguments, the default target, and a
// checkpoint directory that never overwrites a user's files.
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function arg(name: string, fallback: string): string {
  const argv = process.argv.slice(2);
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return fallback;
  return argv[i].includes('=') ? argv[i].split('=').slice(1).join('=') : (argv[i + 1] ?? fallback);
}
export const flag = (name: string): boolean => process.argv.slice(2).includes(`--${name}`);

/** `--target`, else 'native' where the LLVM toolchain is present, else 'reference' (said once) */
export async function targetArg(): Promise<string> {
  const given = arg('target', '');
  if (given) return given;
  let why: string;
  try {
    const { nativeAvailable } = await import('../compiler/targets/native.js');
    const native = await nativeAvailable();
    if (native.ok) return 'native';
    why = native.why;
  } catch (e) {
    why = (e as Error).message.split('\n')[0];
  }
  console.log(`target 'native' unavailable (${why}); falling back to 'reference'`);
  return 'reference';
}

/** the checkpoint directory: the user's (refusing to replace a checkpoint there) or a fresh one named `prefix...` */
export function checkpointDir(named: string, prefix: string): string {
  if (!named) return mkdtempSync(path.join(tmpdir(), prefix));
  for (const f of ['model.safetensors', 'optimizer.safetensors', 'kiln-checkpoint.json']) {
    if (existsSync(path.join(named, f))) {
      throw new Error(`${path.join(named, f)} exists: refusing to overwrite it; give a new directory`);
    }
  }
  mkdirSync(named, { recursive: true });
  return named;
}
