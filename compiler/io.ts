// `save(obj, path)` / `load(path)`: PyTorch's torch.save/torch.load for state dicts (a model's, an
// optimizer's, or any JSON-like object holding typed arrays). One file: magic, a JSON header
// describing the object with its typed arrays replaced by references, then the arrays' raw bytes
// and a checksum over them. Saving writes a temp file and renames it over `path`, so a crash never
// leaves a half-written checkpoint; loading checks everything before returning, so a truncated or
// foreign file fails clearly and (since load is pure) nothing changes.
import { KilnError } from './errors.js';
import { readFileWhole, writeFileAtomic } from './files.js';

const MAGIC = 'KILNSD01';
type Typed = Float32Array | Int32Array | Uint8Array;
const CTORS = { float32: Float32Array, int32: Int32Array, uint8: Uint8Array } as const;
type Kind = keyof typeof CTORS;
const kindOf = (a: Typed): Kind =>
  a instanceof Float32Array ? 'float32' : a instanceof Int32Array ? 'int32' : 'uint8';

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/** JSON tree with typed arrays as {$t: index} and non-finite numbers as {$n: 'NaN'} */
function encode(v: unknown, blobs: Typed[]): unknown {
  if (v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array) return { $t: blobs.push(v) - 1 };
  if (ArrayBuffer.isView(v))
    throw new KilnError(`save: unsupported array type ${v.constructor.name} (Float32Array, Int32Array or Uint8Array)`);
  if (typeof v === 'number') return Number.isFinite(v) ? v : { $n: String(v) };
  if (Array.isArray(v)) return v.map((x) => encode(x, blobs));
  if (v && typeof v === 'object') {
    if (Object.getPrototypeOf(v) !== Object.prototype)
      throw new KilnError(`save: cannot save a ${v.constructor.name}; save its stateDict() instead`);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encode(x, blobs)]));
  }
  if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint')
    throw new KilnError(`save: cannot save a ${typeof v}`);
  return v;
}

function decode(v: unknown, blobs: Typed[], where: string): unknown {
  if (Array.isArray(v)) return v.map((x) => decode(x, blobs, where));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('$t' in o) {
      const b = blobs[o.$t as number];
      if (!b) throw new KilnError(`load: ${where} refers to a missing array ${String(o.$t)}`);
      return b;
    }
    if ('$n' in o) return Number(o.$n);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decode(x, blobs, where)]));
  }
  return v;
}

export function save(obj: unknown, file: string): void {
  const blobs: Typed[] = [];
  const tree = encode(obj, blobs);
  let offset = 0;
  const table = blobs.map((b) => {
    const e = { kind: kindOf(b), length: b.length, offset };
    offset += Math.ceil(b.byteLength / 4) * 4; // 4-byte aligned so loads can view without copying
    return e;
  });
  const payload = new Uint8Array(offset);
  blobs.forEach((b, i) => payload.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), table[i].offset));
  const header = Buffer.from(
    JSON.stringify({ tree, blobs: table, payloadBytes: offset, checksum: fnv1a(payload) }),
    'utf8',
  );
  const pre = Buffer.alloc(12);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(header.length, 8);
  const bytes = new Uint8Array(pre.length + header.length + payload.length);
  bytes.set(pre, 0);
  bytes.set(header, pre.length);
  bytes.set(payload, pre.length + header.length);
  writeFileAtomic(file, bytes);
}

export function load(file: string): any {
  const whole = readFileWhole(file); // past 2 GiB, where readFileSync stops
  const buf = Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength);
  const bad = (why: string): never => {
    throw new KilnError(`load: ${file} ${why}`);
  };
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) bad('is not a kiln checkpoint (no KILNSD01 header)');
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.length) bad(`is truncated: its header needs ${hlen} bytes, the file has ${buf.length - 12}`);
  let header: {
    tree: unknown;
    blobs: { kind: Kind; length: number; offset: number }[];
    payloadBytes: number;
    checksum: number;
  };
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + hlen));
  } catch {
    return bad('has a corrupted header');
  }
  const start = 12 + hlen;
  const have = buf.length - start;
  if (have !== header.payloadBytes)
    bad(
      `is ${have < header.payloadBytes ? 'truncated' : 'longer than its header says'}: ` +
        `expected ${header.payloadBytes} bytes of tensor data, found ${have}`,
    );
  // copy into an aligned buffer owned by the result
  const payload = new Uint8Array(header.payloadBytes);
  payload.set(buf.subarray(start));
  if (fnv1a(payload) !== header.checksum) bad('is corrupted: the checksum of its tensor data does not match');
  const blobs = header.blobs.map((b, i) => {
    const C = CTORS[b.kind];
    if (!C || b.offset + b.length * C.BYTES_PER_ELEMENT > payload.length) bad(`has an invalid array entry ${i}`);
    return new C(payload.buffer, b.offset, b.length);
  });
  return decode(header.tree, blobs, file);
}
