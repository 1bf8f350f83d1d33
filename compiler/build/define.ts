// The entry convention for `kiln build` and `kiln inspect`: a module exports (as default or by any
// name) the result of `defineProgram({...})`: the model and optimizer whose state the bundle
// carries, and the functions to compile, each with its traced input specs.
//
//   export default defineProgram({
//     name: 'seed', model, optimizer,
//     functions: {
//       trainStep: {
//         fn: (x, y) => { ... return loss; },
//         inputs: [{ name: 'x', shape: [1, 10], dtype: 'float32' }, ...],
//       },
//     },
//   });
import { KilnError } from '../errors.js';
import { checkOptions } from '../options.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Tensor } from '../tensor.js';
import type { InputSpec } from '../trace.js';

export interface FunctionSpec {
  fn: (...args: Tensor[]) => unknown;
  inputs: InputSpec[];
  /**
   * more input shapes to build the function for (each a shape per input; names and dtypes are `inputs'`):
   * the bundle's `run` picks the variant whose shapes the given arrays' lengths fit, as compile() traces
   * a variant for a new batch size. `[[[32, 10], [32]], [[7, 10], [7]]]` adds batches 32 and 7.
   */
  shapes?: number[][][];
  /** a line for the generated docs */
  doc?: string;
}

export interface ProgramDefinition {
  /** the bundle's package name (npm rules: lower case, dashes) */
  name: string;
  model?: Module;
  optimizer?: Optimizer<any>;
  functions: Record<string, FunctionSpec>;
  /** a line for the generated package's description */
  description?: string;
}

const TAG = Symbol.for('kiln.programDefinition');

export function defineProgram(def: ProgramDefinition): ProgramDefinition {
  if (!def || typeof def !== 'object') {
    throw new KilnError('defineProgram: expected { name, functions, model?, optimizer? }');
  }
  if (typeof def.name !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/.test(def.name)) {
    throw new KilnError(
      `defineProgram: name ${JSON.stringify(def.name)} must be an npm package name ` +
        "(lower case letters, digits, '-', '.', '_')",
    );
  }
  checkOptions('defineProgram', def, ['name', 'model', 'optimizer', 'functions', 'description']);
  const fns = Object.entries(def.functions ?? {});
  if (!fns.length) {
    throw new KilnError(`defineProgram(${def.name}): functions must name at least one function to compile`);
  }
  for (const [k, f] of fns) {
    if (!/^[A-Za-z_$][\w$]*$/.test(k)) {
      throw new KilnError(`defineProgram(${def.name}): function name '${k}' is not a JavaScript identifier`);
    }
    if (typeof f?.fn !== 'function' || !Array.isArray(f.inputs)) {
      throw new KilnError(`defineProgram(${def.name}): functions.${k} must be { fn, inputs: [{ shape, dtype }, ...] }`);
    }
    checkOptions(`defineProgram(${def.name}): functions.${k}`, f, ['fn', 'inputs', 'doc', 'shapes']);
    checkShapes(`defineProgram(${def.name}): functions.${k}`, f);
  }
  return Object.defineProperty({ ...def }, TAG, { value: true });
}

const isShape = (s: unknown): s is number[] => Array.isArray(s) && s.every((d) => Number.isSafeInteger(d) && d >= 0);

function checkShapes(where: string, f: FunctionSpec): void {
  if (f.shapes === undefined) return;
  const n = f.inputs.length;
  const one = (v: unknown) => Array.isArray(v) && v.length === n && v.every(isShape);
  if (!Array.isArray(f.shapes) || !f.shapes.every(one)) {
    throw new KilnError(
      `${where}: shapes must be a list of input shape lists, each with ${n} shape(s) (one per input), ` +
        `e.g. [${JSON.stringify(f.inputs.map((i) => i.shape))}]; got ${JSON.stringify(f.shapes)}`,
    );
  }
  const keys = [f.inputs.map((i) => i.shape), ...f.shapes].map((v) => JSON.stringify(v));
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice) throw new KilnError(`${where}: the input shapes ${twice} are listed twice`);
}

export function isProgramDefinition(x: unknown): x is ProgramDefinition {
  return !!x && typeof x === 'object' && (x as Record<symbol, unknown>)[TAG] === true;
}
