// Containers as PyTorch 1.13's: Sequential, ModuleList, ModuleDict. Their children are the
// module's registered children, so state dict keys are PyTorch's (`layers.0.weight`, `blocks.attn.weight`).
import { KilnError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

/** named entries: a Map (any key order) or a plain object (JavaScript puts integer-like keys first) */
export type NamedModules = Map<string, Module> | Record<string, Module>;

const entriesOf = (m: NamedModules): [string, Module][] => (m instanceof Map ? [...m] : Object.entries(m));

/** PyTorch's `operator.index` check: a position must be an integer */
function checkIndex(idx: number): void {
  if (!Number.isInteger(idx)) {
    const type = typeof idx === 'number' ? 'float' : typeof idx;
    throw new KilnError(`'${type}' object cannot be interpreted as an integer`);
  }
}

/** the non-negative position of `idx` among `n` (PyTorch's `_get_item_by_idx` / `_get_abs_string_index`) */
function position(idx: number, n: number): number {
  checkIndex(idx);
  if (!(-n <= idx && idx < n)) throw new KilnError(`index ${idx} is out of range`);
  return idx < 0 ? idx + n : idx;
}

/** Python's slice bounds for `[start:end]` over `n` items (negative counts from the end, clamped) */
function sliceRange(n: number, start = 0, end = n): [number, number] {
  const clamp = (i: number) => Math.min(n, Math.max(0, i < 0 ? i + n : i));
  checkIndex(start);
  checkIndex(end);
  return [clamp(start), clamp(end)];
}

/** the container's children, renumbered 0..n-1 (PyTorch's `__delitem__` keeps the numbering so) */
function renumber(children: Map<string, Module>): void {
  const ms = [...children.values()];
  children.clear();
  ms.forEach((m, i) => children.set(String(i), m));
}

/** PyTorch's `Module [X] is missing the required "forward" function` */
function noForward(m: Module): never {
  throw new KilnError(`Module [${m.constructor.name}] is missing the required "forward" function`);
}

/**
 * PyTorch's nn.Sequential: `new nn.Sequential(a, b, c)` names its children '0', '1', '2';
 * `new nn.Sequential({ conv: ..., act: ... })` (or a Map, PyTorch's OrderedDict) keeps the names.
 */
export class Sequential extends Module {
  constructor(...layers: Module[] | [NamedModules]) {
    super();
    const first = layers[0];
    if (layers.length === 1 && !(first instanceof Module) && first && typeof first === 'object') {
      for (const [k, m] of entriesOf(first)) this.registerModule(k, m);
    } else {
      (layers as Module[]).forEach((m, i) => this.registerModule(String(i), m));
    }
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this._children.values()) y = m.forward(y);
    return y;
  }
  get length(): number {
    return this._children.size;
  }
  [Symbol.iterator](): Iterator<Module> {
    return this._children.values();
  }
  /** the module at position `i` (negative counts from the end), whatever the names */
  at(i: number): Module {
    return [...this._children.values()][position(i, this.length)];
  }
  /** replaces the module at position `i`, keeping its name */
  set(i: number, m: Module): void {
    const key = [...this._children.keys()][position(i, this.length)];
    this.registerModule(key, m);
  }
  /** PyTorch's `seq[a:b]`: a Sequential of the same modules under the same names */
  slice(start?: number, end?: number): Sequential {
    const [a, b] = sliceRange(this.length, start, end);
    return new Sequential(new Map([...this._children].slice(a, b)));
  }
  append(m: Module): this {
    this.registerModule(String(this.length), m);
    return this;
  }
  extend(layers: Iterable<Module>): this {
    appendAll(this, this._children, 'Sequential', layers);
    return this;
  }
  /** PyTorch's insert: shifts the modules at `index` and after up by one name ('0', '1', ...) */
  insert(index: number, m: Module): this {
    if (!(m instanceof Module)) throw new KilnError('module should be of type: Module');
    shiftInsert(this._children, index, m);
    return this;
  }
  /** removes and returns the module at position `i`; the rest are renumbered, as PyTorch does */
  pop(i: number): Module {
    const key = [...this._children.keys()][position(i, this.length)];
    const m = this._children.get(key)!;
    this._children.delete(key);
    renumber(this._children);
    return m;
  }
}

/**
 * Sequential.insert's range check (-n..n, negative counting from the end), then
 * `children['i'] = children['i-1']` for i from n down to index + 1, and `children[index] = m`
 */
function shiftInsert(children: Map<string, Module>, index: number, m: Module): void {
  checkIndex(index);
  const n = children.size;
  if (!(-n <= index && index <= n)) throw new KilnError(`Index out of range: ${index}`);
  const at = index < 0 ? index + n : index;
  // PyTorch renames by number: a Sequential with named entries fails on the first missing name
  for (let i = n - 1; i >= at; i--) if (!children.has(String(i))) throw new KilnError(`KeyError: '${i}'`);
  for (let i = n; i > at; i--) children.set(String(i), children.get(String(i - 1))!);
  children.set(String(at), m);
}

/** appends every module of `modules` as '<n>', '<n+1>', ...; all are checked before any is added */
function appendAll(owner: Sequential | ModuleList, children: Map<string, Module>, what: string, modules: unknown) {
  if (!modules || typeof (modules as Iterable<Module>)[Symbol.iterator] !== 'function') {
    const got =
      modules == null ? String(modules) : typeof modules === 'object' ? modules.constructor.name : typeof modules;
    throw new KilnError(`${what}.extend should be called with an iterable, but got ${got}`);
  }
  const ms = [...(modules as Iterable<Module>)]; // a copy first: `seq.extend(seq)` appends each once
  ms.forEach((m, i) => {
    if (!(m instanceof Module)) owner.registerModule(String(children.size + i), m); // throws PyTorch's message
  });
  ms.forEach((m) => owner.registerModule(String(children.size), m));
}

/** PyTorch's nn.ModuleList: modules registered as '0', '1', ...; it has no forward of its own */
export class ModuleList extends Module {
  constructor(modules: Iterable<Module> = []) {
    super();
    this.extend(modules);
  }
  forward(): Tensor {
    return noForward(this);
  }
  get length(): number {
    return this._children.size;
  }
  [Symbol.iterator](): Iterator<Module> {
    return this._children.values();
  }
  at(i: number): Module {
    return this._children.get(String(position(i, this.length)))!;
  }
  set(i: number, m: Module): void {
    this.registerModule(String(position(i, this.length)), m);
  }
  /** PyTorch's `list[a:b]`: a ModuleList of the same modules, renumbered from 0 */
  slice(start?: number, end?: number): ModuleList {
    const [a, b] = sliceRange(this.length, start, end);
    return new ModuleList([...this._children.values()].slice(a, b));
  }
  append(m: Module): this {
    this.registerModule(String(this.length), m);
    return this;
  }
  extend(modules: Iterable<Module>): this {
    appendAll(this, this._children, 'ModuleList', modules);
    return this;
  }
  /**
   * Inserts before `index`. PyTorch's ModuleList.insert does no bounds check (an index past the end
   * leaves a gap in the names, a negative one fails on a missing key); kiln takes Sequential.insert's
   * range (-n..n, negative counting from the end) and message.
   */
  insert(index: number, m: Module): this {
    if (!(m instanceof Module)) this.registerModule(String(this.length), m); // throws PyTorch's message
    shiftInsert(this._children, index, m);
    return this;
  }
  pop(i: number): Module {
    const key = String(position(i, this.length));
    const m = this._children.get(key)!;
    this._children.delete(key);
    renumber(this._children);
    return m;
  }
}

/**
 * PyTorch's nn.ModuleDict: modules by name, in insertion order (a re-set key keeps its place).
 * From a plain object JavaScript orders integer-like keys first; a Map or [key, module] pairs keep
 * exactly the order given, as PyTorch's OrderedDict and pair lists do.
 */
export class ModuleDict extends Module {
  constructor(modules?: NamedModules | Iterable<[string, Module]>) {
    super();
    if (modules !== undefined) this.update(modules);
  }
  forward(): Tensor {
    return noForward(this);
  }
  get length(): number {
    return this._children.size;
  }
  /** iterates the keys, as a Python dict does */
  [Symbol.iterator](): Iterator<string> {
    return this._children.keys();
  }
  get(key: string): Module {
    const m = this._children.get(key);
    if (!m) throw new KilnError(`KeyError: '${key}'`);
    return m;
  }
  set(key: string, m: Module): void {
    this.registerModule(key, m);
  }
  has(key: string): boolean {
    return this._children.has(key);
  }
  delete(key: string): void {
    this.pop(key);
  }
  pop(key: string): Module {
    const m = this.get(key);
    this._children.delete(key);
    return m;
  }
  clear(): void {
    this._children.clear();
  }
  keys(): string[] {
    return [...this._children.keys()];
  }
  values(): Module[] {
    return [...this._children.values()];
  }
  items(): [string, Module][] {
    return [...this._children];
  }
  /** adds or replaces entries; everything is checked before anything changes */
  update(modules: NamedModules | ModuleDict | Iterable<[string, Module]>): void {
    const entries = pairsOf(modules);
    for (const [k, m] of entries) this.checkChild(k, m); // all first: a bad entry late in the list changes nothing
    for (const [k, m] of entries) this.registerModule(k, m);
  }
}

function pairsOf(modules: NamedModules | ModuleDict | Iterable<[string, Module]>): [string, Module][] {
  if (modules instanceof ModuleDict) return modules.items();
  if (modules instanceof Map) return [...modules];
  if (modules === null || typeof modules !== 'object') {
    const got = modules === null ? 'null' : typeof modules;
    throw new KilnError(`ModuleDict.update should be called with an iterable of key/value pairs, but got ${got}`);
  }
  if (typeof (modules as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    return Object.entries(modules as Record<string, Module>);
  }
  return [...(modules as Iterable<unknown>)].map((e, j) => {
    if (!Array.isArray(e))
      throw new KilnError(`ModuleDict update sequence element #${j} should be Iterable; is${typeof e}`);
    if (e.length !== 2)
      throw new KilnError(`ModuleDict update sequence element #${j} has length ${e.length}; 2 is required`);
    return e as [string, Module];
  });
}
