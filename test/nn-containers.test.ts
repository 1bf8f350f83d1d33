// Containers and module traversal as PyTorch 1.13's: Sequential (positional and named), ModuleList,
// ModuleDict, namedModules / modules / apply / requiresGrad_. The expected names, orders and
// messages are what torch 1.13 gives for the same calls (checked with it when these were written).
import { describe, expect, it } from 'vitest';
import { KilnError, nn, tensor } from 'kiln';

const names = (m: nn.Module) => Object.keys(m.stateDict());
const kinds = (ms: Iterable<nn.Module>) => [...ms].map((m) => m.constructor.name);

describe('Sequential', () => {
  it('from named entries (object or Map) keeps the names; from modules numbers them', () => {
    const conv = new nn.Linear(2, 3),
      fc = new nn.Linear(3, 1);
    const named = new nn.Sequential({ conv, act: new nn.ReLU(), fc });
    expect(names(named)).toEqual(['conv.weight', 'conv.bias', 'fc.weight', 'fc.bias']);
    // a Map keeps any order (an object would put integer-like keys first)
    const ordered = new nn.Sequential(
      new Map<string, nn.Module>([
        ['b', new nn.Linear(1, 1)],
        ['1', new nn.Linear(1, 1, { bias: false })],
      ]),
    );
    expect(names(ordered)).toEqual(['b.weight', 'b.bias', '1.weight']);
    expect(names(new nn.Sequential(conv, new nn.ReLU(), fc))).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    // forward is the composition, whatever the names
    const x = tensor([[1, -2]]);
    expect(Array.from(named.forward(x).data)).toEqual(Array.from(fc.forward(conv.forward(x).relu()).data));
  });

  it('at, length, iteration and slices by position; slices share the modules under their names', () => {
    const a = new nn.Linear(2, 2),
      b = new nn.ReLU(),
      c = new nn.Linear(2, 3);
    const s = new nn.Sequential({ conv: a, act: b, fc: c });
    expect(s.length).toBe(3);
    expect(s.at(0)).toBe(a);
    expect(s.at(-1)).toBe(c);
    expect([...s]).toEqual([a, b, c]);
    const tail = s.slice(1);
    expect(tail).toBeInstanceOf(nn.Sequential);
    expect([...tail.namedChildren()].map(([k]) => k)).toEqual(['act', 'fc']);
    expect(names(tail)).toEqual(['fc.weight', 'fc.bias']); // torch: s[1:].state_dict() keys
    expect(tail.at(1)).toBe(c); // the same module: training the slice trains the original
    expect(kinds(s.slice(-2, -1))).toEqual(['ReLU']);
    expect(s.slice(5).length).toBe(0);
    expect(() => s.at(5)).toThrow(KilnError);
    expect(() => s.at(5)).toThrow('index 5 is out of range');
    expect(() => s.at(-4)).toThrow('index -4 is out of range');
    expect(() => s.at(1.5)).toThrow("'float' object cannot be interpreted as an integer");
    // seq[i] = m keeps the name at that position
    const tanh = new nn.Tanh();
    s.set(-2, tanh);
    expect([...s.namedChildren()]).toEqual([
      ['conv', a],
      ['act', tanh],
      ['fc', c],
    ]);
    expect(() => s.set(3, tanh)).toThrow('index 3 is out of range');
  });

  it("append, extend, insert and pop name the modules as PyTorch's do", () => {
    const [a, b, c] = [new nn.Linear(2, 2), new nn.ReLU(), new nn.Linear(2, 3)];
    const s = new nn.Sequential(a, b, c);
    expect(s.append(new nn.Tanh())).toBe(s);
    s.insert(-1, new nn.Sigmoid());
    expect(kinds(s)).toEqual(['Linear', 'ReLU', 'Linear', 'Sigmoid', 'Tanh']);
    expect([...s.namedChildren()].map(([k]) => k)).toEqual(['0', '1', '2', '3', '4']);
    expect(() => s.insert(9, b)).toThrow('Index out of range: 9');
    s.extend([new nn.Identity(), new nn.ReLU()]);
    expect(s.length).toBe(7);
    expect(s.pop(0)).toBe(a);
    // the rest renumbered: c was '2', is now '1'
    expect(names(s)).toEqual(['1.weight', '1.bias']);
    const named = new nn.Sequential({ conv: a, act: b, fc: c });
    expect(named.pop(0)).toBe(a);
    expect([...named.namedChildren()].map(([k]) => k)).toEqual(['0', '1']); // PyTorch renumbers named ones too
    named.append(new nn.Tanh());
    expect([...named.namedChildren()].map(([k]) => k)).toEqual(['0', '1', '2']);
    // torch's insert into named entries fails on the first missing number ('2'), changing nothing
    const byName = new nn.Sequential({ conv: a, act: b, fc: c });
    expect(() => byName.insert(1, new nn.Tanh())).toThrow("KeyError: '2'");
    expect(kinds(byName)).toEqual(['Linear', 'ReLU', 'Linear']);
  });

  it('rejects what is not a module with PyTorch messages, changing nothing', () => {
    const s = new nn.Sequential(new nn.ReLU());
    expect(() => s.extend([new nn.Tanh(), 3 as never])).toThrow('number is not a Module subclass');
    expect(s.length).toBe(1);
    expect(() => s.extend(3 as never)).toThrow('Sequential.extend should be called with an iterable, but got number');
    expect(() => s.insert(0, {} as never)).toThrow('module should be of type: Module');
    expect(() => new nn.Sequential({ 'a.b': new nn.ReLU() })).toThrow('module name can\'t contain ".", got: a.b');
    expect(() => new nn.Sequential({ '': new nn.ReLU() })).toThrow('module name can\'t be empty string ""');
  });
});

describe('ModuleList', () => {
  class Net extends nn.Module {
    layers = new nn.ModuleList([new nn.Linear(2, 4), new nn.Linear(4, 4)]);
    forward(x: ReturnType<typeof tensor>) {
      let y = x;
      for (const l of this.layers) y = l.forward(y).relu();
      return y;
    }
  }

  it('registers its modules as 0, 1, ...: state dict keys layers.0.weight, ...; forward through them', () => {
    const net = new Net();
    expect(names(net)).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
    const [l0, l1] = [...net.layers] as nn.Linear[];
    const x = tensor([[0.5, -1]]);
    expect(Array.from(net.forward(x).data)).toEqual(Array.from(l1.forward(l0.forward(x).relu()).relu().data));
  });

  it('append, extend, insert, at, slice and pop as PyTorch', () => {
    const [a, b, c] = [new nn.Linear(2, 2), new nn.ReLU(), new nn.Linear(2, 3)];
    const l = new nn.ModuleList([a, b, c]);
    expect(l.length).toBe(3);
    expect(l.at(-1)).toBe(c);
    expect(() => l.at(3)).toThrow('index 3 is out of range');
    const tail = l.slice(1);
    expect(tail).toBeInstanceOf(nn.ModuleList);
    expect(names(tail)).toEqual(['1.weight', '1.bias']); // renumbered from 0: c is '1'
    expect([...tail]).toEqual([b, c]);
    l.insert(1, new nn.Tanh());
    expect(kinds(l)).toEqual(['Linear', 'Tanh', 'ReLU', 'Linear']);
    expect(names(l)).toEqual(['0.weight', '0.bias', '3.weight', '3.bias']);
    expect(l.append(new nn.Identity()).extend([new nn.ReLU()])).toBe(l);
    expect(l.length).toBe(6);
    expect(l.pop(1).constructor.name).toBe('Tanh');
    l.set(0, new nn.Linear(2, 2, { bias: false }));
    expect(() => l.set(-9, a)).toThrow('index -9 is out of range');
    expect(names(l)).toEqual(['0.weight', '2.weight', '2.bias']);
    expect(() => l.extend(5 as never)).toThrow('ModuleList.extend should be called with an iterable, but got number');
    expect(() => new nn.ModuleList([1 as never])).toThrow('number is not a Module subclass');
  });

  it("has no forward: PyTorch's NotImplementedError message", () => {
    const l = new nn.ModuleList([new nn.ReLU()]);
    expect(() => l.forward()).toThrow('Module [ModuleList] is missing the required "forward" function');
    expect(() => new nn.ModuleDict().forward()).toThrow(
      'Module [ModuleDict] is missing the required "forward" function',
    );
  });
});

describe('ModuleDict', () => {
  it('get/set/has/delete/keys/values/items/length in insertion order; a re-set key keeps its place', () => {
    const attn = new nn.Linear(2, 2),
      mlp = new nn.Linear(2, 1);
    const d = new nn.ModuleDict({ attn, act: new nn.ReLU() });
    d.set('mlp', mlp);
    expect(d.keys()).toEqual(['attn', 'act', 'mlp']);
    expect(d.values()[2]).toBe(mlp);
    expect(d.items()[0]).toEqual(['attn', attn]);
    expect([...d]).toEqual(['attn', 'act', 'mlp']); // iterating a dict gives its keys
    expect(d.length).toBe(3);
    expect(d.has('act')).toBe(true);
    expect(d.get('attn')).toBe(attn);
    const replaced = new nn.Linear(2, 3, { bias: false });
    d.set('attn', replaced);
    expect(d.keys()).toEqual(['attn', 'act', 'mlp']);
    d.delete('act');
    expect(d.has('act')).toBe(false);
    expect(() => d.get('zz')).toThrow("KeyError: 'zz'");
    expect(() => d.delete('zz')).toThrow("KeyError: 'zz'");
    class Model extends nn.Module {
      blocks = d;
      forward(x: ReturnType<typeof tensor>) {
        return this.blocks.get('mlp').forward(x);
      }
    }
    expect(names(new Model())).toEqual(['blocks.attn.weight', 'blocks.mlp.weight', 'blocks.mlp.bias']);
  });

  it('from a Map or [key, module] pairs keeps the order exactly (torch: OrderedDict b, 1, a)', () => {
    const [b, one, a] = [new nn.ReLU(), new nn.Tanh(), new nn.Linear(1, 1)];
    const fromMap = new nn.ModuleDict(
      new Map<string, nn.Module>([
        ['b', b],
        ['1', one],
        ['a', a],
      ]),
    );
    expect(fromMap.keys()).toEqual(['b', '1', 'a']);
    const pairs: [string, nn.Module][] = [
      ['b', b],
      ['1', one],
      ['a', a],
    ];
    expect(new nn.ModuleDict(pairs).keys()).toEqual(['b', '1', 'a']);
    fromMap.update(new nn.ModuleDict({ c: new nn.ReLU() }));
    expect(fromMap.keys()).toEqual(['b', '1', 'a', 'c']);
    expect(fromMap.pop('1')).toBe(one);
    fromMap.clear();
    expect(fromMap.length).toBe(0);
  });

  it("rejects bad keys with PyTorch's messages, all checked before anything is added", () => {
    const d = new nn.ModuleDict({ a: new nn.ReLU() });
    expect(() => d.update({ b: new nn.ReLU(), 'c.d': new nn.ReLU() })).toThrow(
      'module name can\'t contain ".", got: c.d',
    );
    expect(d.keys()).toEqual(['a']);
    expect(() => new nn.ModuleDict({ keys: new nn.ReLU() })).toThrow("attribute 'keys' already exists");
    expect(() => d.set('x', 3 as never)).toThrow('number is not a Module subclass');
    expect(() => new nn.ModuleDict([['a', new nn.ReLU(), 1]] as never)).toThrow(
      'ModuleDict update sequence element #0 has length 3; 2 is required',
    );
  });
});

describe('namedModules, modules, apply, requiresGrad_', () => {
  const shared = new nn.Linear(2, 2);
  class Net extends nn.Module {
    a = shared;
    seq = new nn.Sequential(shared, new nn.ReLU(), new nn.Sequential(new nn.Tanh()));
    forward(x: ReturnType<typeof tensor>) {
      return this.seq.forward(this.a.forward(x));
    }
  }

  it("namedModules: self first as '', depth first, a shared module once (torch's order)", () => {
    const n = new Net();
    expect([...n.namedModules()].map(([k]) => k)).toEqual(['', 'a', 'seq', 'seq.1', 'seq.2', 'seq.2.0']);
    expect([...n.namedModules('m')].map(([k]) => k)).toEqual(['m', 'm.a', 'm.seq', 'm.seq.1', 'm.seq.2', 'm.seq.2.0']);
    expect([...n.namedModules({ removeDuplicate: false })].map(([k]) => k)).toEqual([
      '',
      'a',
      'seq',
      'seq.0',
      'seq.1',
      'seq.2',
      'seq.2.0',
    ]);
    const ms = n.modules();
    expect(ms[0]).toBe(n);
    expect(ms[1]).toBe(shared);
    expect(kinds(ms)).toEqual(['Net', 'Linear', 'Sequential', 'ReLU', 'Sequential', 'Tanh']);
    expect(() => n.namedModules({ memo: 1 } as never)).toThrow(KilnError);
  });

  it('apply visits each child tree first, then the module, and returns it (torch: a shared child twice)', () => {
    const n = new Net();
    const seen: string[] = [];
    expect(n.apply((m) => seen.push(m.constructor.name))).toBe(n);
    expect(seen).toEqual(['Linear', 'Linear', 'ReLU', 'Tanh', 'Sequential', 'Sequential', 'Net']);
  });

  it('requiresGrad_ sets every parameter; eager backward gives a frozen parameter no gradient', () => {
    const m = new nn.Sequential(new nn.Linear(3, 2), new nn.Linear(2, 1));
    const first = m.at(0) as nn.Linear,
      second = m.at(1) as nn.Linear;
    const x = tensor([[1, 2, 3]]);
    m.forward(x).sum().backward(); // before freezing: a gradient, and a host node marked as needing one
    expect(first.weight.grad).not.toBeNull();
    m.zeroGrad();
    expect(first.requiresGrad_(false)).toBe(first);
    expect(first.parameters().map((p) => p.requiresGrad)).toEqual([false, false]);
    m.forward(x).sum().backward();
    expect(first.weight.grad).toBeNull();
    expect(first.bias!.grad).toBeNull();
    expect(second.weight.grad).not.toBeNull();
    m.requiresGrad_();
    expect(m.parameters().every((p) => p.requiresGrad)).toBe(true);
    expect(() => m.requiresGrad_(1 as never)).toThrow(
      "requiresGrad_(): argument 'requiresGrad' (position 1) must be bool, not number",
    );
    expect(() => m.train('yes' as never)).toThrow('training mode is expected to be boolean');
  });
});
