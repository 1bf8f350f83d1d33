// A bundle's persistent state on its device: every cell (by its PyTorch key, e.g. `0.weight`,
// `state.0.exp_avg`) at one offset shared by all functions, plus host values (step counters).
// Checkpoint files use the scheme of ../checkpoint-keys.ts: `model` holds the model's keys,
// `optimizer` the `state.<i>.<name>` tensors, `state.<i>.step` scalars and param_groups metadata.
import type { Device, HostArray } from '../device.js';
import { numel, storageOf, type CellPlacement } from '../manifest.js';
import { decodeSafetensors, encodeSafetensors, toFloat32, toInt32, type SafeTensor } from '../safetensors.js';
import type { BundleManifest } from './format.js';
import { checkpointFileOf, isStepKey, optimizerMetadata, paramGroupsOf } from '../checkpoint-keys.js';
import { Hyperparameters } from './hyper.js';

export class BundleState {
  readonly cells = new Map<string, CellPlacement>();
  readonly host: Record<string, number>;
  private groups = '[]';
  /**
   * The model's keys, in the bundle's model.safetensors order (PyTorch's state_dict order): only
   * these are the model's, so a cell no checkpoint names (a non-persistent buffer, a constant)
   * is neither asked of nor written to a model checkpoint.
   */
  private modelOrder: string[] = [];
  private readonly isModel = (k: string) => checkpointFileOf(k) === 'model' && this.modelOrder.includes(k);
  /** the optimizer's param groups (live hyperparameters are entries of `host`) */
  readonly hyper?: Hyperparameters;

  /** `inOrder`: how a user's hyperparameter change waits for the runs issued before it */
  constructor(
    private readonly device: Device,
    m: BundleManifest,
    inOrder?: (change: () => void) => void,
  ) {
    this.host = { ...m.host };
    if (m.optimizer) this.hyper = new Hyperparameters(m.optimizer.groups, this.host, inOrder);
  }

  addCells(cells: CellPlacement[]): void {
    for (const c of cells) {
      const had = this.cells.get(c.name);
      if (had && (had.offset !== c.offset || had.buf === undefined)) {
        throw new Error(`kiln bundle: cell ${c.name} has two offsets`);
      }
      this.cells.set(c.name, c);
    }
  }

  /**
   * Writes checkpoint files to the device. `initial`: the bundle's own files (missing cells stay
   * zero). Otherwise PyTorch's strict rules: every model key present, none unknown, every shape
   * equal; all checked before anything is written.
   */
  async load(files: Record<string, Uint8Array>, initial: boolean): Promise<void> {
    const writes: [CellPlacement, HostArray][] = [];
    const host: [string, number][] = [];
    const errors: string[] = [];
    let groups: { json: string; apply: () => void } | undefined;
    for (const [kind, bytes] of Object.entries(files)) {
      const f = decodeSafetensors(bytes, `${kind} checkpoint`);
      if (initial && kind === 'model') this.modelOrder = Object.keys(f.tensors);
      const json = kind === 'optimizer' ? paramGroupsOf(f.metadata) : undefined;
      if (json) {
        const r = this.hyper?.fromMetadata(json) ?? { errors: [], apply: () => {} };
        errors.push(...r.errors.map((e) => `param_groups: ${e}`));
        groups = { json, apply: r.apply };
      }
      for (const [key, t] of Object.entries(f.tensors)) {
        if (kind === 'optimizer' && isStepKey(key)) {
          host.push([key, Number(toFloat32(t)[0])]);
          continue;
        }
        const c = this.cells.get(key);
        if (!c) {
          if (!initial && kind === 'model') errors.push(`Unexpected key "${key}"`);
          continue;
        }
        if (t.shape.join() !== c.shape.join()) {
          errors.push(`size mismatch for ${key}: the checkpoint has shape [${t.shape}], the bundle [${c.shape}]`);
          continue;
        }
        writes.push([c, c.dtype === 'float32' ? toFloat32(t) : toInt32(t as SafeTensor, key)]);
      }
      if (!initial && kind === 'model') {
        for (const key of this.cells.keys()) {
          if (this.isModel(key) && !(key in f.tensors)) errors.push(`Missing key "${key}"`);
        }
      }
    }
    if (errors.length) {
      throw new Error(`kiln bundle: the checkpoint does not fit this program:\n\t${errors.join('\n\t')}`);
    }
    for (const [c, data] of writes) this.device.writeState(storageOf(c.dtype), c.offset, data);
    for (const [k, v] of host) this.host[k] = v;
    if (groups) {
      groups.apply();
      this.groups = groups.json;
    }
  }

  /** the cells, model keys first in modelOrder */
  private ordered(): [string, CellPlacement][] {
    const first = this.modelOrder
      .filter((k) => this.cells.has(k))
      .map((k): [string, CellPlacement] => [k, this.cells.get(k)!]);
    return [...first, ...[...this.cells].filter(([k]) => !this.modelOrder.includes(k))];
  }

  private async read(c: CellPlacement): Promise<HostArray> {
    return this.device.readState(storageOf(c.dtype), c.offset, numel(c.shape));
  }

  async modelDict(): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [k, c] of this.ordered()) {
      if (!this.isModel(k)) continue;
      out[k] = { shape: [...c.shape], data: Float32Array.from(await this.read(c)) };
    }
    return out;
  }

  async save(): Promise<{ model: Uint8Array; optimizer?: Uint8Array }> {
    const model: Record<string, { shape: number[]; data: HostArray }> = {};
    const opt: Record<string, { shape: number[]; data: HostArray }> = {};
    for (const [k, c] of this.ordered()) {
      const kind = checkpointFileOf(k);
      if (kind === 'model' ? this.isModel(k) : kind === 'optimizer')
        (kind === 'model' ? model : opt)[k] = { shape: [...c.shape], data: await this.read(c) };
    }
    for (const [k, v] of Object.entries(this.host)) {
      if (isStepKey(k)) opt[k] = { shape: [], data: Float32Array.of(v) };
    }
    const groups = () => this.hyper?.toMetadata(this.groups) ?? this.groups;
    return {
      model: encodeSafetensors(model, { format: 'pt' }),
      ...(Object.keys(opt).length ? { optimizer: encodeSafetensors(opt, optimizerMetadata(groups())) } : {}),
    };
  }
}
