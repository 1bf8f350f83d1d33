// nn.Module: parameters, names, state dicts with PyTorch's keys and errors, train/eval, init.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { manualSeed, nn, tensor, KilnError } from 'kiln';

const seedModel = () => new nn.Sequential(new nn.Linear(10, 5), new nn.ReLU(), new nn.Linear(5, 2));
const init = JSON.parse(readFileSync(new URL('./fixtures/nn_init.json', import.meta.url), 'utf8'));

describe('nn.Module', () => {
  it('names parameters like PyTorch and lists children', () => {
    const m = seedModel();
    expect([...m.namedParameters()].map(([k]) => k)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(m.parameters().map((p) => p.shape)).toEqual([[5, 10], [5], [2, 5], [2]]);
    expect(m.children().map((c) => c.constructor.name)).toEqual(['Linear', 'ReLU', 'Linear']);
    expect(Object.keys(m.stateDict())).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
  });

  it('default init is bitwise PyTorch after manualSeed(0) (kaiming-uniform a=sqrt(5), U(±1/sqrt(fan_in)))', () => {
    manualSeed(0);
    const sd = seedModel().stateDict();
    for (const [k, v] of Object.entries<any>(init.stateDict)) {
      expect(sd[k].shape).toEqual(v.shape);
      expect(Array.from(sd[k].data)).toEqual(v.data.map(Math.fround));
    }
    manualSeed(0);
    expect(Array.from(seedModel().stateDict()['2.bias'].data)).toEqual(Array.from(sd['2.bias'].data));
  });

  it('loadStateDict round-trips and copies (later edits of the dict do not leak in)', () => {
    const a = seedModel(),
      b = seedModel();
    const sd = a.stateDict();
    b.loadStateDict(sd);
    sd['0.bias'].data[0] = 123;
    expect(Array.from(b.stateDict()['0.weight'].data)).toEqual(Array.from(a.stateDict()['0.weight'].data));
    expect(b.stateDict()['0.bias'].data[0]).not.toBe(123);
  });

  it('rejects missing, unexpected and mis-shaped keys with PyTorch messages, changing nothing', () => {
    const m = seedModel();
    const before = m.stateDict();
    const sd: any = m.stateDict();
    delete sd['2.bias'];
    sd['3.weight'] = { shape: [1], data: [0] };
    sd['0.weight'] = { shape: [5, 3], data: new Float32Array(15) };
    sd['0.bias'] = { shape: [5], data: new Float32Array(5).fill(9) };
    let err: unknown;
    try {
      m.loadStateDict(sd);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KilnError);
    const msg = (err as Error).message;
    expect(msg).toMatch(
      new RegExp(
        /^Error\(s\) in loading state_dict for Sequential:\n/.source +
          /\tMissing key\(s\) in state_dict: "2.bias". \n/.source +
          /\tUnexpected key\(s\) in state_dict: "3.weight". \n/.source +
          /\tsize mismatch for 0.weight: copying a param with shape \[5, 3\] from checkpoint, /.source +
          /the shape in current model is \[5, 10\]\.(\n|$)/.source,
      ),
    );
    expect(m.stateDict()).toEqual(before); // 0.bias was not written either
  });

  it('strict=false reports keys but still rejects size mismatches', () => {
    const m = seedModel();
    const r = m.loadStateDict(
      { '0.bias': { shape: [5], data: [1, 2, 3, 4, 5] }, extra: { shape: [1], data: [0] } },
      false,
    );
    expect(r.missingKeys).toEqual(['0.weight', '2.weight', '2.bias']);
    expect(r.unexpectedKeys).toEqual(['extra']);
    expect(Array.from(m.stateDict()['0.bias'].data)).toEqual([1, 2, 3, 4, 5]);
    expect(() => m.loadStateDict({ '0.bias': { shape: [4], data: [1, 2, 3, 4] } }, false)).toThrow(
      /size mismatch for 0.bias/,
    );
  });

  it('train()/eval() set the mode recursively', () => {
    const m = seedModel();
    expect(m.training).toBe(true);
    m.eval();
    expect(m.children().every((c) => !c.training)).toBe(true);
    m.train();
    expect(m.children().every((c) => c.training)).toBe(true);
  });

  it('forward computes x W^T + b eagerly, with gradients for parameters', () => {
    const lin = new nn.Linear(2, 1);
    lin.loadStateDict({ weight: { shape: [1, 2], data: [2, -1] }, bias: { shape: [1], data: [0.5] } });
    const y = lin.forward(tensor([[1, 3]]));
    expect(y.item()).toBe(-0.5);
    expect(() => lin.forward(tensor([[1, 2, 3]]))).toThrow(/Linear\(2, 1\).*1x3 and 2x1/);
  });
});
