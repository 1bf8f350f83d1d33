// `kiln <command>`: dispatch, help and exit codes (0 ok, 1 failed, 2 bad usage).
import { readFileSync } from 'node:fs';
import { helpText, parseArgs, UsageError, type CommandSpec, type Parsed } from './args.js';
import { formatError } from './report.js';
import * as build from './build.js';
import * as inspect from './inspect.js';

interface Command {
  spec: CommandSpec;
  run(args: Parsed): Promise<number>;
}
const commands: Command[] = [build, inspect];

const version = (): string => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
};

export function mainHelp(): string {
  return [
    "kiln — a TypeScript compiler for training neural networks with PyTorch's names",
    '',
    'Usage: kiln <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.spec.name.padEnd(12)}${c.spec.summary}`),
    `  ${'help'.padEnd(12)}show help for a command (kiln help build)`,
    '',
    'Options:',
    '  -h, --help    show this help',
    "  --version     print kiln's version",
    '',
    'An entry module exports defineProgram({ name, model, optimizer, functions }); see examples/programs/seed.ts.',
    'Set KILN_DEBUG=1 to print stack traces.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(mainHelp());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    console.log(version());
    return 0;
  }
  if (name === 'help') {
    const c = commands.find((x) => x.spec.name === rest[0]);
    if (rest[0] && !c) {
      console.error(`kiln: unknown command '${rest[0]}'\n\n${mainHelp()}`);
      return 2;
    }
    console.log(c ? helpText(c.spec) : mainHelp());
    return 0;
  }
  const cmd = commands.find((c) => c.spec.name === name);
  if (!cmd) {
    console.error(
      `kiln: unknown command '${name}' (commands: ${commands.map((c) => c.spec.name).join(', ')}; see kiln --help)`,
    );
    return 2;
  }
  try {
    const args = parseArgs(rest, cmd.spec);
    if (args.opts.help) {
      console.log(helpText(cmd.spec));
      return 0;
    }
    return await cmd.run(args);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`kiln ${name}: ${e.message}\nRun 'kiln ${name} --help' for usage.`);
      return 2;
    }
    console.error(formatError(e));
    return 1;
  }
}
