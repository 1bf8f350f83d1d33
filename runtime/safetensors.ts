// safetensors reader and writer (https://huggingface.co/docs/safetensors format): an 8-byte
// little-endian header length N, N bytes of JSON { name: { dtype, shape, data_offsets: [begin, end] },
// "__metadata__": { string: string } }, then the raw little-endian tensor bytes. Plain
// ArrayBuffer code with no Node imports: bundles use it in Node and in browsers.

export type SafeDType = 'F32' | 'F64' | 'I32' | 'I64' | 'U8' | 'BOOL';
export type SafeArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: SafeArray;
}
export interface SafeFile {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<SafeDType, number> = { F32: 4, F64: 8, I32: 4, I64: 8, U8: 1, BOOL: 1 };
const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** the safetensors dtype of a typed array (Uint8Array is U8; pass dtype 'BOOL' explicitly) */
export function dtypeOf(a: SafeArray): SafeDType {
  if (a instanceof Float32Array) return 'F32';
  if (a instanceof Float64Array) return 'F64';
  if (a instanceof Int32Array) return 'I32';
  if (a instanceof BigInt64Array) return 'I64';
  if (a instanceof Uint8Array) return 'U8';
  throw new TypeError(`safetensors: unsupported array type ${(a as object)?.constructor?.name}`);
}

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

/** Serializes tensors (in the given key order, 8-byte aligned header as the reference writer does). */
export function encodeSafetensors(
  tensors: Record<string, { shape: readonly number[]; data: SafeArray; dtype?: SafeDType }>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const parts: [number, Uint8Array][] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new SafetensorsError('safetensors: "__metadata__" is not a tensor name');
    const dtype = t.dtype ?? dtypeOf(t.data);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) {
      throw new SafetensorsError(`safetensors: ${name} has ${t.data.length} values for shape [${t.shape}]`);
    }
    const bytes = toLittleEndianBytes(t.data);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    parts.push([offset, bytes]);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // pad so the data starts 8-byte aligned
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  for (const [o, b] of parts) out.set(b, 8 + head.length + o);
  return out;
}

/** the reference implementation's bound on the JSON header (safetensors' MAX_HEADER_SIZE) */
export const MAX_HEADER_BYTES = 100_000_000;

/**
 * Parses and validates a whole file as the reference implementation (huggingface/safetensors,
 * `SafeTensors::deserialize`) does: header length within the file and MAX_HEADER_BYTES, a JSON
 * object, each tensor's byte span equal to its dtype x shape, the spans (sorted by offset) laid
 * end to end from 0 with no gap or overlap and ending exactly at the end of the file. Any
 * truncation or inconsistency throws a SafetensorsError; header bytes never load as values.
 */
export function decodeSafetensors(bytes: Uint8Array, what = 'file'): SafeFile {
  const fail = (m: string): never => {
    throw new SafetensorsError(`safetensors ${what}: ${m}`);
  };
  if (bytes.length < 8) fail(`too short (${bytes.length} bytes): not a safetensors file, or truncated`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) {
    fail(
      `header says ${n64} bytes of JSON, more than the ${MAX_HEADER_BYTES} the format allows: ` +
        'not a safetensors file',
    );
  }
  const n = Number(n64);
  if (n > bytes.length - 8) {
    fail(
      `header says ${n} bytes of JSON but the file has ${bytes.length - 8} after the length: ` +
        'truncated or not a safetensors file',
    );
  }
  if (bytes[8] !== 0x7b) fail("header does not start with '{': not a safetensors file");
  let header: Record<string, any>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: { name: string; dtype: SafeDType; shape: number[]; begin: number; end: number; count: number }[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!info || typeof info !== 'object' || Array.isArray(info)) fail('__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        own(metadata, k, v as string);
      }
      continue;
    }
    const { dtype, shape, data_offsets: off } = info ?? {};
    if (typeof dtype !== 'string' || !Object.hasOwn(BYTES, dtype)) {
      fail(`${name}: unsupported dtype ${JSON.stringify(dtype)} (F32, F64, I32, I64, U8, BOOL)`);
    }
    const natural = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
    if (!Array.isArray(shape) || !shape.every(natural)) fail(`${name}: invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(off) || off.length !== 2 || !off.every(natural) || off[0] > off[1]) {
      fail(`${name}: invalid data_offsets ${JSON.stringify(off)} (two offsets 0 <= begin <= end)`);
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const size = count * BYTES[dtype as SafeDType];
    if (!Number.isSafeInteger(size)) fail(`${name}: shape [${shape}] is too large`);
    if (off[1] - off[0] !== size) {
      fail(`${name}: data_offsets span ${off[1] - off[0]} bytes, but ${dtype}[${shape}] needs ${size}`);
    }
    if (off[1] > dataLen) {
      fail(`${name}: data ends at byte ${off[1]} but the file holds ${dataLen} bytes of data: truncated`);
    }
    spans.push({ name, dtype: dtype as SafeDType, shape: [...shape], begin: off[0], end: off[1], count });
  }
  let at = 0;
  for (const t of [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (t.begin !== at) {
      fail(
        `${t.name}: data_offsets begin at byte ${t.begin}, but the previous tensor's data ends at ${at}: ` +
          `tensors must lie end to end from 0 (${t.begin < at ? 'overlap' : 'gap'})`,
      );
    }
    at = t.end;
  }
  if (at !== dataLen) fail(`tensors cover ${at} bytes but the file holds ${dataLen} bytes of data`);
  const tensors: Record<string, SafeTensor> = {};
  for (const t of spans) {
    // in the header's order
    const data = fromLittleEndianBytes(bytes.subarray(dataStart + t.begin, dataStart + t.end), t.dtype, t.count);
    own(tensors, t.name, { dtype: t.dtype, shape: t.shape, data });
  }
  return { tensors, metadata };
}

/** o[k] = v as an own property, even for k = "__proto__" (a name a file may hold) */
const own = <T>(o: Record<string, T>, k: string, v: T): void => {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
};

function toLittleEndianBytes(a: SafeArray): Uint8Array {
  const copy = new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  if (!little && a.BYTES_PER_ELEMENT > 1) swap(copy, a.BYTES_PER_ELEMENT);
  return copy;
}

function fromLittleEndianBytes(src: Uint8Array, dtype: SafeDType, count: number): SafeArray {
  // copy (aligned, independent of the file's buffer; Node's Buffer.slice would not copy)
  const buf = new ArrayBuffer(src.length);
  new Uint8Array(buf).set(src);
  if (!little && BYTES[dtype] > 1) swap(new Uint8Array(buf), BYTES[dtype]);
  switch (dtype) {
    case 'F32':
      return new Float32Array(buf, 0, count);
    case 'F64':
      return new Float64Array(buf, 0, count);
    case 'I32':
      return new Int32Array(buf, 0, count);
    case 'I64':
      return new BigInt64Array(buf, 0, count);
    default:
      return new Uint8Array(buf, 0, count);
  }
}

function swap(b: Uint8Array, w: number): void {
  for (let i = 0; i < b.length; i += w) b.subarray(i, i + w).reverse();
}

/** a tensor's values as float32 (PyTorch's copy_ casts on load_state_dict) */
export function toFloat32(t: SafeTensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof BigInt64Array) return Float32Array.from(t.data, (x) => Number(x));
  return Float32Array.from(t.data as ArrayLike<number>);
}

/** a tensor's values as int32, checking every value fits */
export function toInt32(t: SafeTensor, name = 'tensor'): Int32Array {
  if (t.data instanceof Int32Array) return t.data;
  const out = new Int32Array(t.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = Number(t.data[i]);
    if (!Number.isInteger(v) || v !== (v | 0)) {
      throw new SafetensorsError(`safetensors: ${name}[${i}] = ${v} is not an int32`);
    }
    out[i] = v;
  }
  return out;
}
