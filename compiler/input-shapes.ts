// The shapes a compiled function's run takes: the declared ones, or another size of each input's
// leading (batch) dimension, as jax.jit traces again for a new shape. A typed array carries only its
// length, so its shape is the declared trailing dimensions under length / their product leading
// ones; a Tensor input must agree with that. One variant is traced per distinct set of lengths.
import { inputFault, typedArrayKind, trueLength } from '../runtime/typed-array.js';
import type { HostArray } from '../runtime/device.js';
import { KilnError } from './errors.js';
import { numel } from './ir/graph.js';
import { Tensor } from './tensor.js';
import { inputDType, type InputSpec } from './trace.js';

/** what a run's inputs must be for one variant: the typed array kind and the element count of each */
export interface InputPlan {
  kinds: string[];
  lengths: Int32Array;
}

export function inputPlan(specs: InputSpec[], shapes: number[][]): InputPlan {
  return {
    kinds: specs.map((s) => (inputDType(s.dtype) === 'float32' ? 'Float32Array' : 'Int32Array')),
    lengths: Int32Array.from(shapes, numel),
  };
}

/** whether `inputs` are exactly what `plan` takes (the internal slots, not a redefinable `length`) */
export function fitsPlan(plan: InputPlan, inputs: readonly unknown[]): boolean {
  if (inputs.length !== plan.lengths.length) return false;
  for (let i = 0; i < inputs.length; i++) {
    const x = inputs[i];
    if (typedArrayKind(x) !== plan.kinds[i] || trueLength(x as HostArray) !== plan.lengths[i]) return false;
  }
  return true;
}

/** the shape of a declared input that holds `n` elements, or undefined if none does */
export function shapeForLength(spec: InputSpec, n: number): number[] | undefined {
  if (n === numel(spec.shape)) return [...spec.shape];
  if (!spec.shape.length) return undefined;
  const rest = numel(spec.shape.slice(1));
  if (rest === 0 || n % rest !== 0) return undefined;
  return [n / rest, ...spec.shape.slice(1)];
}

/** the shapes of a variant taking inputs of these lengths (each checked by checkRunInputs) */
export const shapesForLengths = (specs: InputSpec[], lengths: ArrayLike<number>): number[][] =>
  specs.map((s, i) => shapeForLength(s, lengths[i])!);

const fmt = (shape: number[]) => `[${shape.join(', ')}]`;

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
        const batch = spec.shape.length ? `[*, ${spec.shape.slice(1).join(', ')}]`.replace(', ]', ']') : '[]';
        throw new KilnError(`run: input ${i} has shape ${fmt(x.shape)}, expected ${fmt(spec.shape)} or ${batch}`);
      }
      arr = x.dtype === 'float32' ? x.data : Int32Array.from(x.data);
    }
    const n = numel(spec.shape);
    const fault = inputFault(arr, dtype, n);
    if (fault && 'got' in fault) {
      const want = dtype === 'float32' ? 'Float32Array' : 'Int32Array';
      const at = `dtype ${spec.dtype} with shape [${spec.shape}]`;
      throw new KilnError(`run: input ${i} must be a ${want} for ${at}, got ${fault.got}`);
    }
    if (fault && (fault.detached || !shapeForLength(spec, fault.length))) {
      const why = fault.detached ? ' (its ArrayBuffer is detached)' : '';
      const rest = spec.shape.length ? numel(spec.shape.slice(1)) : 0;
      const other = rest > 0 ? ` (or a multiple of ${rest}: another size of its leading dimension)` : '';
      throw new KilnError(
        `run: input ${i} has ${fault.length} elements, expected ${n} for shape [${spec.shape}]${other}${why}`,
      );
    }
    return arr as HostArray;
  });
}
