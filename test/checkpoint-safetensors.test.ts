import { mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile, manualSeed, nn, optim, type Tensor } from '../compiler/index.js';
import { loadCheckpoint, loadModel, saveCheckpoint, saveModel } from '../compiler/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../runtime/safetensors.js';
import { readFileWhole, sha256Hex, writeFileAtomic } from '../compiler/files.js';
import { createHash } from 'node:crypto';

/** a safetensors file with this header (as JSON) over `data` bytes: what a hostile writer can make */
function rawSafetensors(header: unknown, data: Uint8Array, headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const fixtures = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures/checkpoint');
const expected = JSON.parse(readFileSync(path.join(fixtures, 'expected.json'), 'utf8'));
const tmp = () => mkdtempSync(path.join(tmpdir(), 'kiln-ckpt-'));

function setup(hidden = 3, lr = 0.01) {
  const model = new nn.Sequential(new nn.Linear(4, hidden), new nn.ReLU(), new nn.Linear(hidden, 2));
  const opt = new optim.Adam(model.parameters(), { lr, betas: [0.8, 0.99] });
  const crit = new nn.CrossEntropyLoss();
  const step = compile(
    (x: Tensor, y: Tensor) => {
      const loss = crit.forward(model.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss;
    },
    {
      inputs: [
        { shape: [1, 4], dtype: 'float32' },
        { shape: [1], dtype: 'int32' },
      ],
    },
  );
  return { model, opt, step };
}
const x = Float32Array.from(expected.x),
  y = Int32Array.from(expected.y);

describe('safetensors', () => {
  it('round-trips every dtype with metadata, header 8-byte aligned', () => {
    const bytes = encodeSafetensors(
      {
        a: { shape: [2, 2], data: Float32Array.of(1, -2, 3.5, 4) },
        b: { shape: [3], data: Int32Array.of(-1, 0, 7) },
        c: { shape: [], data: Float64Array.of(Math.PI) },
        d: { shape: [2], data: BigInt64Array.of(-5n, 1n << 40n) },
      },
      { note: 'hi' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const f = decodeSafetensors(bytes);
    expect(f.metadata).toEqual({ note: 'hi' });
    expect(Array.from(f.tensors.a.data as Float32Array)).toEqual([1, -2, 3.5, 4]);
    expect(f.tensors.b).toMatchObject({ dtype: 'I32', shape: [3] });
    expect(f.tensors.c.data[0]).toBe(Math.PI);
    expect(Array.from(f.tensors.d.data as BigInt64Array)).toEqual([-5n, 1n << 40n]);
  });

  it('rejects truncated and inconsistent files with a clear message', () => {
    const bytes = encodeSafetensors({ a: { shape: [4], data: new Float32Array(4) } });
    expect(() => decodeSafetensors(bytes.subarray(0, 5))).toThrow(/too short/);
    expect(() => decodeSafetensors(bytes.subarray(0, 20))).toThrow(/truncated/);
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 3))).toThrow(
      /a: data ends at byte 16 .* truncated/,
    );
    const extra = new Uint8Array(bytes.length + 4);
    extra.set(bytes);
    expect(() => decodeSafetensors(extra)).toThrow(/cover 16 bytes but the file holds 20/);
  });

  it('validates offsets as the reference implementation does: no negative, overlapping or gapped spans', () => {
    const data = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    const f32 = (begin: number, end: number) => ({ dtype: 'F32', shape: [2], data_offsets: [begin, end] });
    // each of these passed a check that only summed the spans: header bytes or one span twice loaded as weights
    expect(() => decodeSafetensors(rawSafetensors({ a: f32(-8, 0), b: f32(0, 8) }, data))).toThrow(
      /a: invalid data_offsets \[-8,0\]/,
    );
    expect(() => decodeSafetensors(rawSafetensors({ a: f32(0, 8), b: f32(0, 8) }, data))).toThrow(
      /begin at byte 0, but the previous tensor's data ends at 8.*overlap/,
    );
    expect(() => decodeSafetensors(rawSafetensors({ a: f32(4, 12), b: f32(8, 16) }, data))).toThrow(
      /a: data_offsets begin at byte 4, .* ends at 0.*gap/,
    );
    expect(() => decodeSafetensors(rawSafetensors({ a: f32(0, 8), b: f32(8, 16) }, data, 1n << 40n))).toThrow(
      /more than the 100000000 the format allows/,
    );
    expect(() => decodeSafetensors(rawSafetensors(' {"a":1}', data))).toThrow(/does not start with '\{'/);
    expect(() =>
      decodeSafetensors(
        rawSafetensors({ a: { dtype: 'toString', shape: [], data_offsets: [0, 0] } }, new Uint8Array(0)),
      ),
    ).toThrow(/unsupported dtype "toString"/);
    expect(() => decodeSafetensors(rawSafetensors({ __metadata__: 'x' }, new Uint8Array(0)))).toThrow(
      /__metadata__ is not an object/,
    );
    // spans out of header order are fine, as in the reference implementation; values come from their own span
    const ok = decodeSafetensors(
      rawSafetensors({ b: f32(8, 16), a: f32(0, 8), e: { dtype: 'F32', shape: [0], data_offsets: [16, 16] } }, data),
    );
    expect(Object.keys(ok.tensors)).toEqual(['b', 'a', 'e']);
    expect(new Uint8Array(ok.tensors.b.data.buffer)).toEqual(data.subarray(8));
  });

  it('reads and writes files in chunks (the path that carries files past the 2 GiB readFile limit)', () => {
    const file = path.join(tmp(), 'big.safetensors');
    const bytes = encodeSafetensors({ w: { shape: [257], data: Float32Array.from({ length: 257 }, (_, i) => i / 3) } });
    writeFileAtomic(file, bytes, 7); // 7 bytes per write call
    expect(new Uint8Array(readFileSync(file))).toEqual(bytes);
    const back = readFileWhole(file, 5); // 5 bytes per positional read
    expect(back).toEqual(bytes);
    expect(Array.from(decodeSafetensors(back).tensors.w.data as Float32Array)).toEqual(
      Array.from({ length: 257 }, (_, i) => Math.fround(i / 3)),
    );
    expect(sha256Hex(bytes, 64)).toBe(createHash('sha256').update(bytes).digest('hex')); // hashed in chunks too
    writeFileSync(file, bytes.subarray(0, 100));
    expect(readFileWhole(file, 3).length).toBe(100);
  });
});

describe('checkpoints', () => {
  it('loads a checkpoint written by an independent writer (PyTorch) and continues its trajectory', async () => {
    const { model, opt, step } = setup();
    await loadCheckpoint(fixtures, { model, optimizer: opt });
    expect(opt.paramGroups[0].lr).toBe(0.01);
    const loss = await (await step).run(x, y);
    expect(loss.item()).toBeCloseTo(expected.losses[2], 6);
    await (await step).sync();
    for (const [k, v] of Object.entries(model.stateDict())) {
      const want = expected.weights_after_third_step[k] as number[];
      Array.from(v.data).forEach((a, i) => expect(a).toBeCloseTo(want[i], 6));
    }
  });

  it('saves with PyTorch keys and dtypes, atomically, and resumes exactly', async () => {
    manualSeed(1);
    const a = setup();
    const stepA = await a.step;
    for (let i = 0; i < 2; i++) await stepA.run(x, y);
    const dir = tmp();
    await saveCheckpoint(dir, { model: a.model, optimizer: a.opt });
    // no temp files left
    expect(readdirSync(dir).sort()).toEqual(['kiln-checkpoint.json', 'model.safetensors', 'optimizer.safetensors']);
    const m = decodeSafetensors(readFileSync(path.join(dir, 'model.safetensors')));
    expect(Object.keys(m.tensors)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    const o = decodeSafetensors(readFileSync(path.join(dir, 'optimizer.safetensors')));
    expect(o.tensors['state.0.step']).toMatchObject({ dtype: 'F32', shape: [] });
    expect(o.tensors['state.0.step'].data[0]).toBe(2);
    expect(o.tensors['state.3.exp_avg_sq']).toMatchObject({ dtype: 'F32', shape: [2] });
    expect(JSON.parse(o.metadata.param_groups)[0]).toMatchObject({
      lr: 0.01,
      betas: [0.8, 0.99],
      weight_decay: 0,
      params: [0, 1, 2, 3],
    });

    manualSeed(2);
    const b = setup();
    await loadCheckpoint(dir, { model: b.model, optimizer: b.opt });
    const [la, lb] = [await stepA.run(x, y), await (await b.step).run(x, y)];
    expect(lb.item()).toBe(la.item());
  });

  it('refuses a checkpoint of another shape or a truncated file and changes nothing', async () => {
    const small = setup(3);
    await (await small.step).run(x, y);
    const dir = tmp();
    await saveCheckpoint(dir, { model: small.model, optimizer: small.opt });

    const big = setup(5);
    await (await big.step).run(x, y);
    await (await big.step).sync();
    const before = JSON.stringify([big.model.stateDict(), big.opt.stateDict()], (_, v) =>
      v instanceof Float32Array ? Array.from(v) : v,
    );
    await expect(loadCheckpoint(dir, { model: big.model, optimizer: big.opt })).rejects.toThrow(
      /state\.0\.exp_avg has shape \[3, 4\], the parameter has shape \[5, 4\]/,
    );
    await expect(loadModel(path.join(dir, 'model.safetensors'), big.model)).rejects.toThrow(
      /size mismatch for 0\.weight/,
    );
    const cut = path.join(dir, 'model.safetensors');
    truncateSync(cut, 100);
    await expect(loadCheckpoint(dir, { model: small.model, optimizer: small.opt })).rejects.toThrow(
      /not a valid safetensors file.*truncated/s,
    );
    const after = JSON.stringify([big.model.stateDict(), big.opt.stateDict()], (_, v) =>
      v instanceof Float32Array ? Array.from(v) : v,
    );
    expect(after).toBe(before);
  });

  it('keeps the old file when a save fails', async () => {
    const dir = tmp();
    const file = path.join(dir, 'm.safetensors');
    const { model } = setup();
    await saveModel(file, model);
    const old = readFileSync(file);
    await expect(saveModel(path.join(dir, 'missing-dir', 'm.safetensors'), model)).rejects.toThrow(/ENOENT/);
    expect(readFileSync(file).equals(old)).toBe(true);
  });
  // PyTorch reading kiln's files is checked by hand (tests must not need torch):
  //   /usr/bin/python3 test/fixtures/checkpoint/read_checkpoint.py <dir written by saveCheckpoint>
});
