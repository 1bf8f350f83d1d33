// `kiln build <entry.ts>`: a self-contained npm package per program.
import type { CommandSpec, Parsed } from './args.js';
import { KilnError } from '../errors.js';

export const spec: CommandSpec = {
  name: 'build',
  summary: 'compile a program into a self-contained npm package (Node and browsers)',
  positionals: [{ name: 'entry.ts', desc: 'a module exporting defineProgram({...})' }],
  options: [
    { name: 'target', short: 't', value: 'target', choices: ['native', 'webgpu', 'all'], default: 'all', desc: 'code to ship' },
    { name: 'out', short: 'o', value: 'dir', desc: 'output folder (default: dist-<program name>)' },
    { name: 'quiet', short: 'q', desc: 'no progress on stderr' },
  ],
  examples: ['kiln build examples/programs/seed.ts --target webgpu --out build/seed'],
};

export async function run(_: Parsed): Promise<number> {
  throw new KilnError('kiln build: not implemented yet', '');
}
