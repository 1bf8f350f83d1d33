// What a typed array really is, read through the engine's own %TypedArray%.prototype getters.
// A Float32Array whose `length` was redefined (an own property, a subclass getter) still has its
// internal slots; a kernel reads exactly those bytes, so every size check must use them, never the
// overridable `length` property (a lie there makes native code read past the array).

/** the arrays a device reads inputs from and state into: float32 and int32 storage */
export type HostArray = Float32Array | Int32Array;

const typedArrayProto = Object.getPrototypeOf(Int8Array.prototype) as object;
const intrinsic = (key: PropertyKey) => Object.getOwnPropertyDescriptor(typedArrayProto, key)!.get!;
const tagGetter = intrinsic(Symbol.toStringTag);
const lengthGetter = intrinsic('length');
const bufferGetter = intrinsic('buffer');
const intrinsicSet = (typedArrayProto as { set: (src: ArrayLike<number>) => void }).set;
const arrayBufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')!.get!;
const sharedByteLength =
  typeof SharedArrayBuffer === 'function'
    ? Object.getOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'byteLength')!.get!
    : undefined;

/** the typed array an input of `dtype` is passed as: float32 in a Float32Array, every other dtype (int32, and
 * int64 and bool, stored as int32) in an Int32Array */
export const arrayKind = (dtype: string): 'Float32Array' | 'Int32Array' =>
  dtype === 'float32' ? 'Float32Array' : 'Int32Array';

/** the typed array's type from its internal slot ('Float32Array', ...), or undefined for anything else */
export function typedArrayKind(x: unknown): string | undefined {
  return tagGetter.call(x) as string | undefined;
}

/** the element count held in the array's internal slot (0 once its buffer is detached) */
export function trueLength(x: ArrayBufferView): number {
  return lengthGetter.call(x) as number;
}

/** whether the array's memory is a SharedArrayBuffer (which WebGPU's writeBuffer refuses) */
export function isShared(x: ArrayBufferView): boolean {
  if (!sharedByteLength) return false;
  try {
    sharedByteLength.call(bufferGetter.call(x));
    return true;
  } catch {
    return false;
  }
}

function isDetached(x: ArrayBufferView): boolean {
  if (isShared(x)) return false;
  return arrayBufferByteLength.call(bufferGetter.call(x)) === 0;
}

const describe = (x: unknown): string => {
  if (x === null) return 'null';
  if (typeof x !== 'object') return typeof x;
  if (x instanceof DataView) return 'a DataView';
  return typedArrayKind(x) ?? (x as object).constructor?.name ?? 'an object';
};

/** what is wrong with an input: not the right kind of array, or the wrong element count */
export type InputFault = { got: string } | { length: number; detached: boolean };

/**
 * What keeps `x` from being an input of `dtype` with `n` elements, or undefined when nothing
 * does: it must be a genuine Float32Array (float32) or Int32Array (int32) holding exactly `n`
 * elements in its internal slots, whatever its `length` property says.
 */
export function inputFault(x: unknown, dtype: 'float32' | 'int32', n: number): InputFault | undefined {
  if (typedArrayKind(x) !== arrayKind(dtype)) return { got: describe(x) };
  const len = trueLength(x as ArrayBufferView);
  if (len === n) return undefined;
  return { length: len, detached: len === 0 && isDetached(x as ArrayBufferView) };
}

/** ", got 3" or ", got a detached buffer" for a length fault */
export const gotLength = (f: { length: number; detached: boolean }): string =>
  f.detached ? ', got an array whose ArrayBuffer is detached (transferred)' : `, got ${f.length}`;

/** a private copy of an input (a plain, unshared array), taken when a run cannot consume it at once */
export function copyInput(x: HostArray): HostArray {
  const n = trueLength(x);
  const out = typedArrayKind(x) === 'Float32Array' ? new Float32Array(n) : new Int32Array(n);
  intrinsicSet.call(out, x); // reads the source's internal slots, not its properties
  return out;
}
