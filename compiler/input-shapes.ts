// The shapes a compiled function's run takes: the declared ones, or another size of each input's
// leading (batch) dimension, as jax.jit traces again for a new shape. A typed array carries only its
// length, so its shape is the declared trailing dimensions under length / their product leading
// ones; a Tensor input must agree with that. One variant is traced per distinct set of lengths.
import { arrayKind, inputFault, typedArrayKind, trueLength } from '../runtime/typed-array.js';
import type { HostArray } from '../runtime/device.js';
import { KilnError, fmtShape } from './errors.js';
import { numel } from './ir/graph.js';
import { Tensor } from './tensor.js';
import { inputDType, type InputSpec } from './trace.js';

/** per declared input, the typed array a run passes it in (the same for every variant) */
export const inputKinds = (specs: InputSpec[]): string[] => specs.map((s) => arrayKind(inputDType(s.dtype)));

/** whether `inputs` are arrays of these kinds and lengths (their internal slots, not a redefinable `length`) */
export function fitsInputs(kinds: readonly string[], lengths: Int32Array, inputs: readonly unknown[]): boolean {
  if (inputs.length !== lengths.length) return false;
  for (let i = 0; i < inputs.length; i++) {
    const x = inputs[i];
    if (typedArrayKind(x) !== kinds[i] || trueLength(x as HostArray) !== lengths[i]) return false;
  }
  return true;
}

/** whether checked inputs (arrays of the declared kinds) have these lengths */
export function sameLengths(lengths: Int32Array, inputs: readonly HostArray[]): boolean {
  for (let i = 0; i < inputs.length; i++) if (trueLength(inputs[i]) !== lengths[i]) return false;
  return true;
}

/** the element count of one leading index (the trailing dims' product); undefined for a 0-d input */
const rowSize = (spec: InputSpec) => (spec.shape.length ? numel(spec.shape.slice(1)) : undefined);

/** the shape of a declared input that holds `n` elements, or undefined if none does */
export function shapeForLength(spec: InputSpec, n: number): number[] | undefined {
  if (n === numel(spec.shape)) return [...spec.shape];
  const row = rowSize(spec);
  if (!row || n % row !== 0) return undefined;
  return [n / row, ...spec.shape.slice(1)];
}

/** the shapes of a variant taking inputs of these lengths (each checked by checkRunInputs) */
export const shapesForLengths = (specs: InputSpec[], lengths: ArrayLike<number>): number[][] =>
  specs.map((s, i) => shapeForLength(s, lengths[i])!);

/** the inputs as typed arrays of the declared kinds and of sizes some variant takes; throws, naming the input */
export function checkRunInputs(specs: InputSpec[], inputs: readonly (HostArray | Tensor)[]): HostArray[] {
  if (inputs.length !== specs.length) {
    throw new KilnError(
      `run: expected ${specs.length} inputs ` +
        `(${specs.map((s) => `${s.dtype}[${s.shape}]`).join(', ')}), got ${inputs.length}`,
    );
  }
  return inputs.map((x, i) => {
    const spec = specs[i];
    const dtype = inputDType(spec.dtype) === 'float32' ? 'float32' : 'int32';
    let arr: unknown = x;
    if (x instanceof Tensor) {
      const want = shapeForLength(spec, numel(x.shape));
      if (!want || want.join() !== x.shape.join()) {
        const rows = spec.shape.length ? ` or [${['*', ...spec.shape.slice(1)].join(', ')}]` : '';
        throw new KilnError(`run: input ${i} has shape ${fmtShape(x.shape)}, expected ${fmtShape(spec.shape)}${rows}`);
      }
      arr = x.dtype === 'float32' ? x.data : Int32Array.from(x.data);
    }
    const n = numel(spec.shape);
    const fault = inputFault(arr, dtype, n);
    if (fault && 'got' in fault) {
      const at = `dtype ${spec.dtype} with shape [${spec.shape}]`;
      throw new KilnError(`run: input ${i} must be a ${arrayKind(dtype)} for ${at}, got ${fault.got}`);
    }
    if (fault && (fault.detached || !shapeForLength(spec, fault.length))) {
      const why = fault.detached ? ' (its ArrayBuffer is detached)' : '';
      const row = rowSize(spec);
      const other = row ? ` (or a multiple of ${row}: another size of its leading dimension)` : '';
      throw new KilnError(
        `run: input ${i} has ${fault.length} elements, expected ${n} for shape [${spec.shape}]${other}${why}`,
      );
    }
    return arr as HostArray;
  });
}
