// What the example CLIs share: `--name value` / `--name=value` arguments and the default target.
export function arg(name: string, fallback: string): string {
  const argv = process.argv.slice(2);
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return fallback;
  return argv[i].includes('=') ? argv[i].split('=')[1] : (argv[i + 1] ?? fallback);
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
