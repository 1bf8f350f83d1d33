// Module buffers (PyTorch's register_buffer): registration rules and messages, field assignment,
// in-place updates inside compiled steps that persist across runs and targets, stateDict order and
// loading, and checkpoints that carry BatchNorm's running statistics.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile, KilnError, manualSeed, nn, optim, tensor, zeros, type Tensor } from '../compiler/index.js';
import { loadCheckpoint, saveCheckpoint } from '../compiler/checkpoint.js';
import { readFileWhole } from '../compiler/files.js';
import { decodeSafetensors } from '../runtime/safetensors.js';

/** a running total (persistent) and the last input (not persistent), both updated by forward */
class Accumulate extends nn.Module {
  declare total: Tensor;
  declare last: Tensor;
  readonly scale = new nn.Parameter({ shape: [2], data: [2, 3] });
  constructor() {
    super();
    this.registerBuffer('total', zeros([2]));
    this.registerBuffer('last', zeros([2]), { persistent: false });
  }
  forward(x: Tensor): Tensor {
    this.total = this.total.add(x);
    this.last = x;
    return this.total.mul(this.scale);
  }
}

describe('registerBuffer', () => {
  it('refuses what PyTorch refuses, with its messages, and registers nothing then', () => {
    const m = new nn.Linear(2, 2);
    expect(() => m.registerBuffer('a.b', zeros([1]))).toThrow(KilnError);
    expect(() => m.registerBuffer('a.b', zeros([1]))).toThrow('buffer name can\'t contain "."');
    expect(() => m.registerBuffer('', zeros([1]))).toThrow('buffer name can\'t be empty string ""');
    expect(() => m.registerBuffer('weight', zeros([1]))).toThrow("attribute 'weight' already exists");
    expect(() => m.registerBuffer('training', zeros([1]))).toThrow("attribute 'training' already exists");
    expect(() => m.registerBuffer('forward', zeros([1]))).toThrow(KilnError);
    expect(() => m.registerBuffer('x', 3 as never)).toThrow(
      "cannot assign 'number' object to buffer 'x' (torch Tensor or None required)",
    );
    expect(() => m.registerBuffer('x', zeros([1]), { persist: true } as never)).toThrow(/Unknown option 'persist'/);
    expect([m.buffers().length, Object.keys(m.stateDict())]).toEqual([0, ['weight', 'bias']]);
  });

  it('lists buffers; only persistent ones are in stateDict, after the parameters of their module', () => {
    const acc = new Accumulate();
    const none = acc.registerBuffer('unset', null);
    expect(none).toBeNull();
    expect([...acc.namedBuffers()].map(([k]) => k)).toEqual(['total', 'last']);
    expect(Object.keys(acc.stateDict())).toEqual(['scale', 'total']);
    const net = new nn.Sequential(acc, new nn.Linear(2, 1));
    expect(Object.keys(net.stateDict())).toEqual(['0.scale', '0.total', '1.weight', '1.bias']);
    expect([...net.namedBuffers('m.')].map(([k]) => k)).toEqual(['m.0.total', 'm.0.last']);
    expect(net.buffers(false)).toEqual([]);
    // re-registering the same name is allowed (PyTorch: the name is in _buffers)
    acc.registerBuffer('unset', tensor([1]));
    expect(Object.keys(acc.stateDict())).toEqual(['scale', 'total', 'unset']);
  });

  it('assigning a Tensor to a buffer field updates the buffer; a non-tensor is refused', () => {
    const acc = new Accumulate();
    const b = acc.buffers()[0];
    acc.total = tensor([5, 6]);
    expect(acc.total).toBe(b); // the field keeps the Buffer, holding the new value
    expect(Array.from(acc.stateDict().total.data)).toEqual([5, 6]);
    expect(() => ((acc as unknown as Record<string, unknown>).total = 3)).toThrow(
      "cannot assign 'number' as buffer 'total' (torch.Tensor or None expected)",
    );
    acc.total = tensor([1, 2, 3]); // another shape, outside compile(): a new buffer, as in PyTorch
    expect(acc.stateDict().total.shape).toEqual([3]);
    (acc as unknown as Record<string, unknown>).total = new nn.Parameter({ shape: [1], data: [4] });
    expect(Object.keys(acc.stateDict())).toEqual(['scale', 'total']); // now a parameter, not a buffer
    expect(acc.buffers().length).toBe(1);
  });

  it('loads buffers with the rules for parameters (missing and unexpected keys, shapes)', () => {
    const acc = new Accumulate();
    expect(() => acc.loadStateDict({ scale: { shape: [2], data: [1, 1] } })).toThrow(
      'Missing key(s) in state_dict: "total".',
    );
    expect(() =>
      acc.loadStateDict({ scale: { shape: [2], data: [1, 1] }, total: { shape: [3], data: [1, 1, 1] } }),
    ).toThrow('size mismatch for total: copying a param with shape [3] from checkpoint');
    expect(Array.from(acc.total.data)).toEqual([0, 0]);
    const r = acc.loadStateDict({ scale: { shape: [2], data: [1, 1] }, last: { shape: [2], data: [1, 1] } }, false);
    expect(r).toEqual({ missingKeys: ['total'], unexpectedKeys: ['last'] });
    acc.loadStateDict({ scale: { shape: [2], data: [1, 1] }, total: { shape: [2], data: [7, 8] } });
    expect(Array.from(acc.total.data)).toEqual([7, 8]);
  });

  it.each(['reference', 'native'])(
    'is updated in place by compiled steps on %s, and persists across targets',
    async (target) => {
      const acc = new Accumulate();
      const f = await compile((x: Tensor) => acc.forward(x), { inputs: [{ shape: [2], dtype: 'float32' }], target });
      const g = await compile((x: Tensor) => acc.forward(x), { inputs: [{ shape: [2], dtype: 'float32' }] });
      await f.run(Float32Array.of(1, 2));
      await f.run(Float32Array.of(1, 2));
      const out = await g.run(Float32Array.of(10, 0)); // the other program starts from what f left
      expect(Array.from(out.data)).toEqual([24, 12]);
      await f.sync();
      expect(Array.from(acc.total.data)).toEqual([12, 4]);
      expect(Array.from(acc.buffers()[1].data)).toEqual([10, 0]); // non-persistent: state too
      // a new shape cannot appear inside a step
      const h = compile(
        (x: Tensor) => {
          acc.total = x;
          return x;
        },
        { inputs: [{ shape: [3], dtype: 'float32' }], target },
      );
      await expect(h).rejects.toThrow(/cannot be made inside compile\(\)/);
    },
  );
});

describe('checkpoints with buffers', () => {
  it("round-trip BatchNorm's running statistics (num_batches_tracked as I64, PyTorch's dtype)", async () => {
    manualSeed(1);
    const make = () => new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4, { momentum: 0.2 }));
    const model = make();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const step = await compile(
      (x: Tensor) => {
        const loss = model.forward(x).pow(2).mean();
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss;
      },
      { inputs: [{ shape: [5, 3], dtype: 'float32' }], target: 'native' },
    );
    for (let i = 0; i < 3; i++) await step.run(Float32Array.from({ length: 15 }, (_, j) => Math.sin(i + j)));
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-bn-ckpt-'));
    await saveCheckpoint(dir, { model, optimizer: opt });
    const f = decodeSafetensors(readFileWhole(path.join(dir, 'model.safetensors')));
    expect(Object.keys(f.tensors)).toEqual(Object.keys(model.stateDict()));
    expect(f.tensors['1.num_batches_tracked'].dtype).toBe('I64');
    expect(f.tensors['1.running_var'].dtype).toBe('F32');

    const fresh = make();
    await loadCheckpoint(dir, { model: fresh, optimizer: new optim.SGD(fresh.parameters(), { lr: 0.1 }) });
    const want = model.stateDict();
    expect(want['1.num_batches_tracked'].data[0]).toBe(3);
    expect(Array.from(want['1.running_mean'].data).some((v) => v !== 0)).toBe(true);
    expect(fresh.stateDict()).toEqual(want);
  });
});
