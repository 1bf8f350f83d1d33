// Loads a user's entry module and traces every function its program definitions name, giving
// each state cell the key a PyTorch user knows it by (`0.weight`, `state.0.exp_avg`).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { KilnError } from '../errors.js';
import { gradKey, stateKey, unnamedParamKey } from '../../runtime/checkpoint-keys.js';
import { FlagCell, type HostCell } from '../state.js';
import { trace, type TracedProgram } from '../trace.js';
import { isProgramDefinition, type FunctionSpec, type ProgramDefinition } from './define.js';

/** one traced variant of a function: its inputs' shapes are the spec's `inputs` or one of its `shapes` */
export interface TracedFunction {
  name: string;
  spec: FunctionSpec;
  traced: TracedProgram;
  /** 0 for the spec's `inputs`, i for its `shapes[i - 1]` */
  variant: number;
  /** the stem of its code files: the name, then `name.v1`, `name.v2`, ... */
  file: string;
}

/** where a cell's value goes in the bundle and in checkpoints */
export interface StateName {
  key: string;
  file: 'model' | 'optimizer' | 'none';
}

export interface TracedDefinition {
  def: ProgramDefinition;
  functions: TracedFunction[];
  /** cell id -> its PyTorch key */
  cellNames: Map<number, StateName>;
  /** host cell (step counter) -> its PyTorch key */
  hostNames: Map<HostCell, string>;
  /**
   * Why a single trace per function would not hold for every run (a gradient that is None on the
   * first run and set later: compile() re-traces then; a bundle ships one trace per function).
   */
  unstable: string[];
}

/** imports the entry (the CLI runs under tsx, so TypeScript loads) and finds its definitions */
export async function loadDefinitions(entry: string): Promise<ProgramDefinition[]> {
  const abs = path.resolve(entry);
  if (!existsSync(abs)) throw new KilnError(`entry ${entry} does not exist`, '');
  let mod: Record<string, unknown>;
  // an entry whose top-level await never settles leaves nothing for the event loop: Node would
  // exit with code 13 and no word; 'beforeExit' fires first, while the import is still pending
  const unsettled = () => {
    console.error(
      `error: ${entry} never finished loading: its top-level \`await\` waits on a promise that never ` +
        'settles (nothing left to run would settle it: a timer or event that never comes, a promise nobody resolves)',
    );
    process.exit(1);
  };
  process.once('beforeExit', unsettled);
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    // a .ts file outside a "type": "module" package loads as CommonJS, which cannot import kiln (ESM)
    if (/require\(\) ES Module|Cannot use import statement|ERR_REQUIRE/.test((e as Error).message)) {
      throw new KilnError(
        `${entry} was loaded as CommonJS and cannot import kiln (an ES module): ` +
          'add "type": "module" to the nearest package.json, or name the entry .mts\n' +
          `(${(e as Error).message.split('\n')[0]})`,
        '',
      );
    }
    throw e;
  } finally {
    process.off('beforeExit', unsettled);
  }
  const defs = [...new Set(Object.values(mod).filter(isProgramDefinition))];
  if (!defs.length) {
    throw new KilnError(
      `${entry} exports no program: export the result of ` +
        'defineProgram({ name, model, optimizer, functions }) (see examples/programs/seed.ts)',
      '',
    );
  }
  return defs;
}

/** traces each function once per variant, in order (later functions see the state cells earlier ones made) */
export function traceDefinition(def: ProgramDefinition, only?: string): TracedDefinition {
  const entries = Object.entries(def.functions).filter(([n]) => !only || n === only);
  if (!entries.length) {
    throw new KilnError(
      `program ${def.name} has no function '${only}' (it has ${Object.keys(def.functions).join(', ')})`,
      '',
    );
  }
  const functions = entries.flatMap(([name, spec]) =>
    [spec.inputs.map((s) => s.shape), ...(spec.shapes ?? [])].map((shapes, variant): TracedFunction => {
      const inputs = spec.inputs.map((s, i) => ({ ...s, shape: [...shapes[i]], name: s.name ?? `input${i}` }));
      const file = variant ? `${name}.v${variant}` : name;
      return { name, spec: { ...spec, inputs }, traced: trace(spec.fn, inputs), variant, file };
    }),
  );
  const names = stateNames(def);
  return { def, functions, ...names, unstable: unstableGuards(functions, names.cellNames, flagNames(def)) };
}

/** cells whose definedness a trace assumed but some function's run can change */
function unstableGuards(fns: TracedFunction[], names: Map<number, StateName>, flags: Map<FlagCell, string>): string[] {
  const out: string[] = [];
  for (const f of fns) {
    for (const [cell, assumed] of f.traced.assumed) {
      const by = fns.find((g) => g.traced.definedAfter.has(cell) && g.traced.definedAfter.get(cell) !== assumed);
      if (by && cell instanceof FlagCell) {
        // a module's training flag: a function that reads it without setting it, and one that sets it
        out.push(
          `${f.name} was traced with ${flags.get(cell) ?? cell.name} ${assumed}, ` +
            `but running ${by.name} sets it to ${!assumed}`,
        );
      } else if (by) {
        const key = names.get(cell.id)?.key ?? cell.name;
        out.push(
          `${f.name} was traced with ${key} ${assumed ? 'set' : 'None'}, ` +
            `but running ${by.name} makes it ${assumed ? 'None' : 'set'}`,
        );
      }
    }
  }
  return out;
}

/** each module's training flag -> `model.training`, `model.0.training`, ... */
function flagNames(def: ProgramDefinition): Map<FlagCell, string> {
  const out = new Map<FlagCell, string>();
  for (const [k, m] of def.model?.namedModules() ?? [])
    out.set(m._trainingCell, k ? `model.${k}.training` : 'model.training');
  return out;
}

function stateNames(def: ProgramDefinition): Pick<TracedDefinition, 'cellNames' | 'hostNames'> {
  const cellNames = new Map<number, StateName>();
  const hostNames = new Map<HostCell, string>();
  for (const [k, p] of def.model?.namedParameters() ?? []) {
    cellNames.set(p.cell.id, { key: k, file: 'model' });
    cellNames.set(p.gradCell.id, { key: gradKey(k), file: 'none' });
  }
  // the rest of the state dict: persistent buffers (BatchNorm's running statistics)
  for (const [k, c] of def.model?.stateCells() ?? [])
    if (!cellNames.has(c.id)) cellNames.set(c.id, { key: k, file: 'model' });
  const params = def.optimizer?.paramGroups.flatMap((g) => g.params) ?? [];
  params.forEach((p, i) => {
    if (!cellNames.has(p.cell.id)) cellNames.set(p.cell.id, { key: unnamedParamKey(i), file: 'model' });
    if (!cellNames.has(p.gradCell.id)) cellNames.set(p.gradCell.id, { key: gradKey(unnamedParamKey(i)), file: 'none' });
    const st = def.optimizer!.state.get(p);
    if (!st) return;
    for (const [k, c] of st.tensors) cellNames.set(c.id, { key: stateKey(i, k), file: 'optimizer' });
    hostNames.set(st.step, stateKey(i, 'step'));
  });
  return { cellNames, hostNames };
}
