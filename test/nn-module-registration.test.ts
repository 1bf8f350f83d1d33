// PyTorch's __setattr__ registration: Modules and Parameters assigned to fields register in order.
import { describe, expect, it } from 'vitest';
import { nn } from '../compiler/index.js';
import { tensor, type Tensor } from '../compiler/tensor.js';

class FieldNet extends nn.Module {
  fc1 = new nn.Linear(4, 8);
  act = new nn.ReLU();
  fc2 = new nn.Linear(8, 2, { bias: false });
  scale = new nn.Parameter({ shape: [2], data: [1, 2] });
  plain = tensor([1, 2, 3]); // a plain tensor registers nothing, as in PyTorch
  forward(x: ReturnType<typeof tensor>) {
    return this.fc2.call(this.act.call(this.fc1.call(x))).mul(this.scale);
  }
}

class CtorNet extends nn.Module {
  head: nn.Linear;
  layers: nn.Sequential;
  constructor() {
    super();
    this.layers = new nn.Sequential(new nn.Linear(3, 3), new nn.ReLU(), new nn.Linear(3, 1));
    this.head = new nn.Linear(1, 1);
  }
  forward(x: ReturnType<typeof tensor>) {
    return this.head.call(this.layers.call(x));
  }
}

describe('field registration', () => {
  it('class fields register in declaration order with PyTorch keys; null bias and plain tensors are absent', () => {
    const m = new FieldNet();
    // a module's own parameters first, then its children's, as PyTorch orders them
    expect(Object.keys(m.stateDict())).toEqual(['scale', 'fc1.weight', 'fc1.bias', 'fc2.weight']);
    expect([...m.namedChildren()].map(([n]) => n)).toEqual(['fc1', 'act', 'fc2']);
    expect(m.parameters().length).toBe(4);
  });
  it('constructor assignments register in assignment order, nested keys as PyTorch', () => {
    const m = new CtorNet();
    expect(Object.keys(m.stateDict())).toEqual([
      'layers.0.weight',
      'layers.0.bias',
      'layers.2.weight',
      'layers.2.bias',
      'head.weight',
      'head.bias',
    ]);
  });
  it('a layer that registers and assigns a field registers once', () => {
    const l = new nn.Linear(2, 3);
    expect([...l.namedParameters()].map(([n]) => n)).toEqual(['weight', 'bias']);
  });
  it('reassigning replaces the entry in place; null unregisters from the state dict', () => {
    const m = new CtorNet();
    const replacement = new nn.Linear(3, 3, { bias: false });
    m.layers = new nn.Sequential(replacement);
    expect(Object.keys(m.stateDict())).toEqual(['layers.0.weight', 'head.weight', 'head.bias']);
    const f = new FieldNet();
    (f as unknown as { scale: null }).scale = null;
    expect(Object.keys(f.stateDict())).not.toContain('scale');
    expect(() => {
      (f.fc1 as unknown as { weight: unknown }).weight = tensor([1]);
    }).toThrow("cannot assign 'torch.FloatTensor' as parameter 'weight' (torch.nn.Parameter or None expected)");
  });
  it("a tied weight is in the state dict under both keys, as PyTorch's state_dict; parameters() has it once", () => {
    class Tied extends nn.Module {
      emb = new nn.Embedding(5, 3);
      head = new nn.Linear(3, 5, { bias: false });
      constructor() {
        super();
        this.head.weight = this.emb.weight;
      }
      forward(x: Tensor) {
        return this.head.forward(this.emb.forward(x));
      }
    }
    const m = new Tied();
    expect(Object.keys(m.stateDict())).toEqual(['emb.weight', 'head.weight']);
    expect(m.parameters()).toHaveLength(1);
    const sd = m.stateDict();
    sd['head.weight'] = { shape: [5, 3], data: new Float32Array(15).fill(2) };
    m.loadStateDict(sd); // PyTorch's dict of a tied model loads strictly; the later key's values land
    expect([...m.emb.weight.data]).toEqual(new Array(15).fill(2));
  });
  it('forward through registered fields works', () => {
    const m = new FieldNet();
    expect(m.call(tensor([[1, 2, 3, 4]])).shape).toEqual([1, 2]);
  });
});
