// `kiln inspect <entry.ts>`: what the compiler made of each function.
import { writeFileSync } from 'node:fs';
import type { CommandSpec, Parsed } from './args.js';
import { UsageError } from './args.js';
import { Progress } from './report.js';
import { loadDefinitions, traceDefinition } from '../build/program.js';
import { createLowering } from '../inspect/pipeline.js';
import { inspectDefinition, type InspectReport } from '../inspect/report.js';
import { renderHTML, renderText, type StageChoice } from '../inspect/render.js';
import { emitKernel, type EmitKind } from '../inspect/code.js';
import type { KernelProgram } from '../ir/kernel.js';
import { emitKinds } from '../targets/registry.js';

/** 'a, b or c' */
const orList = (xs: string[]): string =>
  xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} or ${xs.at(-1)}`;

export const spec: CommandSpec = {
  name: 'inspect',
  summary: 'show the graph after each pass, the kernels, and their generated code',
  positionals: [{ name: 'entry.ts', desc: 'a module exporting defineProgram({...})' }],
  options: [
    { name: 'function', short: 'f', value: 'name', desc: 'only this function of the program' },
    {
      name: 'stages',
      value: 'which',
      choices: ['all', 'last', 'none'],
      default: 'all',
      desc: 'graphs to print: after every pass, the last, or none',
    },
    { name: 'kernel', short: 'k', value: 'N', desc: 'print the generated code of kernel N (with --emit)' },
    {
      name: 'emit',
      short: 'e',
      value: 'kind',
      choices: emitKinds().map(([k]) => k),
      desc: `code to print: ${orList(emitKinds().map(([, e]) => e.label))}`,
    },
    { name: 'json', desc: 'print the report as JSON (for tools)' },
    { name: 'html', value: 'file', desc: 'write an HTML report: fused graph as SVG, kernel table, highlighted code' },
    { name: 'quiet', short: 'q', desc: 'no progress on stderr' },
  ],
  examples: [
    'kiln inspect examples/programs/seed.ts',
    'kiln inspect examples/programs/seed.ts --stages last --function trainStep',
    'kiln inspect examples/programs/seed.ts --kernel 3 --emit wgsl',
    'kiln inspect examples/programs/seed.ts --json > report.json',
    'kiln inspect examples/programs/seed.ts --html report.html',
  ],
};

export async function run({ positionals: [entry], opts }: Parsed): Promise<number> {
  const kernelOpt = opts.kernel as string | undefined;
  const emit = opts.emit as EmitKind | undefined;
  if (kernelOpt !== undefined && !/^\d+$/.test(kernelOpt)) {
    throw new UsageError(`--kernel must be a kernel index (0, 1, ...), got '${kernelOpt}'`, 'inspect');
  }
  if ((kernelOpt === undefined) !== (emit === undefined) && !opts.html) {
    const kinds = emitKinds()
      .map(([k]) => k)
      .join('|');
    throw new UsageError(`--kernel and --emit go together: --kernel N --emit ${kinds}`, 'inspect');
  }
  const progress = new Progress(!!opts.quiet || ((!!opts.json || !!emit) && !process.stderr.isTTY));
  const defs = await progress.stage(`load ${entry}`, () => loadDefinitions(entry));
  const reports: InspectReport[] = [];
  const programs: KernelProgram[][] = [];
  for (const def of defs) {
    const traced = await progress.stage(`trace ${def.name}`, () =>
      traceDefinition(def, opts.function as string | undefined),
    );
    for (const u of traced.unstable) progress.info(`warning: ${u} (compile() re-traces; kiln build refuses this)`);
    const lowering = createLowering();
    const { report, kernels } = await progress.stage(`lower ${def.name}`, () =>
      inspectDefinition(traced, entry, lowering),
    );
    reports.push(report);
    programs.push(kernels);
  }
  if (emit && kernelOpt !== undefined) {
    const kp = programs[0][0];
    const text = await emitKernel(kp, Number(kernelOpt), emit);
    if (opts.json) {
      console.log(
        JSON.stringify(
          { function: reports[0].functions[0].name, kernel: Number(kernelOpt), emit, code: text },
          null,
          1,
        ),
      );
    } else {
      console.log(text);
    }
    return 0;
  }
  if (opts.html) {
    const kind = emit ?? emitKinds()[0][0];
    const code = await progress.stage('render code', async () => {
      const kp = programs[0];
      return Promise.all(
        kp.map((p) =>
          Promise.all(p.kernels.map(async (_, i) => ({ kernel: i, emit: kind, text: await emitKernel(p, i, kind) }))),
        ),
      );
    });
    writeFileSync(opts.html as string, renderHTML(reports[0], code));
    progress.info(`wrote ${opts.html}`);
  }
  if (opts.json) console.log(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 1));
  else if (!opts.html) console.log(reports.map((r) => renderText(r, opts.stages as StageChoice)).join('\n\n'));
  return 0;
}
