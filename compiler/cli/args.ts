// A small argument parser with generated help: every command declares its positionals and
// options once, and both `--help` and the errors for bad arguments come from that declaration.

export interface OptSpec {
  name: string; // long name, without dashes
  short?: string; // one letter
  value?: string; // placeholder when the option takes a value ("dir"); absent = a flag
  choices?: string[];
  default?: string;
  desc: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  positionals: { name: string; desc: string; optional?: boolean }[];
  options: OptSpec[];
  examples?: string[];
  details?: string;
}

export type Parsed = { positionals: string[]; opts: Record<string, string | boolean | undefined> };

/** a mistake in how the command was called: printed with a pointer to --help, exit code 2 */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

const HELP: OptSpec = { name: 'help', short: 'h', desc: 'show this help' };

export function parseArgs(argv: string[], spec: CommandSpec): Parsed {
  const options = [...spec.options, HELP];
  const opts: Parsed['opts'] = {};
  const positionals: string[] = [];
  for (const o of options) if (o.default !== undefined) opts[o.name] = o.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    const [flag, inline] = a.startsWith('--') ? splitEq(a.slice(2)) : [a.slice(1), undefined];
    const o = options.find((x) => (a.startsWith('--') ? x.name === flag : x.short === flag));
    if (!o) throw new UsageError(`unknown option '${a}'${suggest(flag, options)}`, spec.name);
    if (!o.value) {
      if (inline !== undefined) throw new UsageError(`option --${o.name} takes no value`, spec.name);
      opts[o.name] = true;
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined || (inline === undefined && v.startsWith('--'))) {
      throw new UsageError(`option --${o.name} needs a value <${o.value}>`, spec.name);
    }
    if (o.choices && !o.choices.includes(v)) {
      throw new UsageError(`option --${o.name} must be one of ${o.choices.join(', ')} (got '${v}')`, spec.name);
    }
    opts[o.name] = v;
  }
  if (opts.help) return { positionals, opts };
  const required = spec.positionals.filter((p) => !p.optional).length;
  if (positionals.length < required) {
    throw new UsageError(`missing <${spec.positionals[positionals.length].name}>`, spec.name);
  }
  if (positionals.length > spec.positionals.length) {
    throw new UsageError(`unexpected argument '${positionals[spec.positionals.length]}'`, spec.name);
  }
  return { positionals, opts };
}

const splitEq = (s: string): [string, string | undefined] => {
  const i = s.indexOf('=');
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
};

function suggest(flag: string, options: OptSpec[]): string {
  const near = options.find((o) => o.name.startsWith(flag.slice(0, 3)) || flag.startsWith(o.name.slice(0, 3)));
  return near ? ` (did you mean --${near.name}?)` : '';
}

export function helpText(spec: CommandSpec): string {
  const pos = spec.positionals.map((p) => (p.optional ? `[${p.name}]` : `<${p.name}>`)).join(' ');
  const lines = [
    `kiln ${spec.name} — ${spec.summary}`,
    '',
    `Usage: kiln ${spec.name} ${pos} [options]`.replace(/ +/g, ' '),
  ];
  if (spec.positionals.length) {
    lines.push('', 'Arguments:');
    for (const p of spec.positionals) lines.push(`  ${p.name.padEnd(24)}${p.desc}`);
  }
  lines.push('', 'Options:');
  for (const o of [...spec.options, HELP]) {
    const left = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.value ? ` <${o.value}>` : ''}`;
    const extra = [
      o.choices ? `one of: ${o.choices.join(', ')}` : '',
      o.default !== undefined ? `default: ${o.default}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    lines.push(`  ${left.padEnd(30)}${o.desc}${extra ? ` (${extra})` : ''}`);
  }
  if (spec.details) lines.push('', spec.details);
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}
