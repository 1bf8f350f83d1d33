// Checkpoints: a model's and an optimizer's state as safetensors files a PyTorch user can read with
// `safetensors.torch.load_file`, in the key scheme of runtime/checkpoint-keys.ts (PyTorch's
// state_dict flattened: `0.weight`, `state.0.exp_avg`, `state.0.step`, `__metadata__.param_groups`).
// Writes are atomic (a temporary file in the same folder, fsync, rename), and a checkpoint folder's
// pair is one unit (compiler/checkpoint-pair.ts); loads read and check everything first, so a
// checkpoint of another shape or a truncated file changes nothing.
import path from 'node:path';
import {
  decodeSafetensors,
  encodeSafetensors,
  toFloat32,
  type SafeFile,
  type SafeTensor,
} from '../runtime/safetensors.js';
import {
  camelGroup,
  optimizerMetadata,
  paramGroupsJson,
  paramGroupsOf,
  parseStateKey,
  stateKey,
} from '../runtime/checkpoint-keys.js';
import { KilnError, fmtShape } from './errors.js';
import { readFileWhole, writeFileAtomic } from './files.js';
import { loadPair, PAIR_FILES, savePair, type PairKind } from './checkpoint-pair.js';
import { checkOptions } from './options.js';
import type { Module } from './nn/module.js';
import type { Optimizer } from './optim/optimizer.js';

type AnyOptimizer = Optimizer<any>;
export interface CheckpointObjects {
  model?: Module;
  optimizer?: AnyOptimizer;
}

function readSafetensors(file: string, bytes?: Uint8Array): SafeFile {
  try {
    bytes ??= readFileWhole(file);
  } catch (e) {
    throw new KilnError(`cannot read checkpoint ${file}: ${(e as Error).message}`);
  }
  try {
    return decodeSafetensors(bytes, file);
  } catch (e) {
    throw new KilnError(`checkpoint ${file} is not a valid safetensors file: ${(e as Error).message}`);
  }
}

// ---- model -------------------------------------------------------------------------------------

/** the model's current values (pulled from whichever device holds them) as safetensors bytes */
export async function modelSafetensors(model: Module): Promise<Uint8Array> {
  await pullModel(model);
  // integer buffers (num_batches_tracked) as I64, the dtype PyTorch's state_dict has
  const sd = Object.entries(model.stateDict()).map(([k, { shape, data, dtype }]) => [
    k,
    { shape, data: dtype === 'int32' ? BigInt64Array.from(data, (v) => BigInt(v)) : data },
  ]);
  return encodeSafetensors(Object.fromEntries(sd), { format: 'pt' });
}

async function pullModel(model: Module): Promise<void> {
  for (const t of [...model.parameters(), ...model.buffers()]) await t.cell.pull();
}

export async function saveModel(file: string, model: Module): Promise<void> {
  writeFileAtomic(file, await modelSafetensors(model));
}

function modelDict(f: SafeFile): Record<string, { shape: number[]; data: Float32Array }> {
  return Object.fromEntries(Object.entries(f.tensors).map(([k, t]) => [k, { shape: t.shape, data: toFloat32(t) }]));
}

export async function loadModel(file: string, model: Module): Promise<void> {
  const f = readSafetensors(file);
  try {
    model.loadStateDict(modelDict(f));
  } catch (e) {
    throw new KilnError(`checkpoint ${file}: ${(e as Error).message}`);
  }
}

// ---- optimizer ---------------------------------------------------------------------------------

/** optimizer.stateDict() flattened to `state.<i>.<key>` tensors plus param_groups metadata */
export function flattenOptimizerState(sd: ReturnType<AnyOptimizer['stateDict']>): {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
} {
  const tensors: Record<string, SafeTensor> = {};
  for (const [i, entry] of Object.entries(sd.state)) {
    for (const [k, v] of Object.entries(entry)) {
      const key = stateKey(i, k);
      if (typeof v === 'number') tensors[key] = { dtype: 'F32', shape: [], data: Float32Array.of(v) };
      else if (v && typeof v === 'object' && 'data' in v) {
        const t = v as { shape: number[]; data: ArrayLike<number> };
        tensors[key] = { dtype: 'F32', shape: [...t.shape], data: Float32Array.from(t.data) };
      } // null: PyTorch's None (a momentum buffer not yet made) is simply absent
    }
  }
  return { tensors, metadata: optimizerMetadata(paramGroupsJson(sd.paramGroups)) };
}

/** the inverse of flattenOptimizerState: a dict optimizer.loadStateDict accepts */
export function unflattenOptimizerState(
  f: SafeFile,
  what = 'optimizer checkpoint',
): ReturnType<AnyOptimizer['stateDict']> {
  const raw = paramGroupsOf(f.metadata);
  if (raw === undefined) throw new KilnError(`${what}: no __metadata__.param_groups (is this a model checkpoint?)`);
  let groups: Record<string, unknown>[];
  try {
    groups = JSON.parse(raw);
  } catch {
    throw new KilnError(`${what}: __metadata__.param_groups is not JSON`);
  }
  const state: Record<number, Record<string, unknown>> = {};
  for (const [key, t] of Object.entries(f.tensors)) {
    const sk = parseStateKey(key);
    if (!sk) throw new KilnError(`${what}: unexpected key "${key}" (expected state.<index>.<name>)`);
    const entry = (state[sk.param] ??= {});
    const data = toFloat32(t);
    entry[sk.key] = sk.key === 'step' ? data[0] : { shape: t.shape, data };
  }
  const paramGroups = groups.map(camelGroup);
  return { state, paramGroups };
}

async function pullOptimizer(opt: AnyOptimizer): Promise<void> {
  for (const st of opt.state.values()) for (const c of st.tensors.values()) await c.pull();
}

export async function optimizerSafetensors(opt: AnyOptimizer): Promise<Uint8Array> {
  await pullOptimizer(opt);
  const { tensors, metadata } = flattenOptimizerState(opt.stateDict());
  return encodeSafetensors(tensors, metadata);
}

export async function saveOptimizer(file: string, opt: AnyOptimizer): Promise<void> {
  writeFileAtomic(file, await optimizerSafetensors(opt));
}

/** checks what optimizer.loadStateDict does not: every state tensor's name and shape */
function checkOptimizerDict(opt: AnyOptimizer, sd: ReturnType<AnyOptimizer['stateDict']>, what: string): void {
  const params = opt.paramGroups.flatMap((g) => g.params);
  if (sd.paramGroups.length !== opt.paramGroups.length) {
    throw new KilnError(
      `${what}: ${sd.paramGroups.length} parameter groups, the optimizer has ${opt.paramGroups.length}`,
    );
  }
  const ids = sd.paramGroups.flatMap((g) => (Array.isArray(g.params) ? (g.params as number[]) : []));
  if (ids.length !== params.length) {
    throw new KilnError(`${what}: state for ${ids.length} parameters, the optimizer has ${params.length}`);
  }
  for (const [id, entry] of Object.entries(sd.state)) {
    const p = params[ids.indexOf(Number(id))];
    if (!p) throw new KilnError(`${what}: state for parameter ${id}, which no param group lists`);
    for (const [k, v] of Object.entries(entry)) {
      if (k === 'step') continue;
      const t = v as { shape: number[] };
      if (t.shape.join() !== p.cell.shape.join()) {
        const shapes = `${fmtShape(t.shape)}, the parameter has shape ${fmtShape(p.cell.shape)}`;
        throw new KilnError(`${what}: ${stateKey(id, k)} has shape ${shapes}`);
      }
    }
  }
}

export async function loadOptimizer(file: string, opt: AnyOptimizer): Promise<void> {
  const sd = unflattenOptimizerState(readSafetensors(file), `checkpoint ${file}`);
  checkOptimizerDict(opt, sd, `checkpoint ${file}`);
  try {
    opt.loadStateDict(sd);
  } catch (e) {
    throw new KilnError(`checkpoint ${file}: ${(e as Error).message}`);
  }
}

// ---- both --------------------------------------------------------------------------------------

export const checkpointFiles = (dir: string) => ({
  model: path.join(dir, PAIR_FILES.model),
  optimizer: path.join(dir, PAIR_FILES.optimizer),
});

/**
 * `dir/model.safetensors` and `dir/optimizer.safetensors`, written as one unit (a kill mid-save
 * leaves the old pair or, on the next save or load, the new one); creates `dir` if needed.
 */
export async function saveCheckpoint(dir: string, objs: CheckpointObjects): Promise<void> {
  checkOptions('saveCheckpoint', objs, ['model', 'optimizer']);
  // encode both before writing either, so a failure leaves the old pair
  const model = objs.model && (await modelSafetensors(objs.model));
  const optimizer = objs.optimizer && (await optimizerSafetensors(objs.optimizer));
  savePair(dir, { ...(model ? { model } : {}), ...(optimizer ? { optimizer } : {}) });
}

/** loads both files; if either does not fit, or they are not from one save, neither object changes */
export async function loadCheckpoint(dir: string, objs: CheckpointObjects): Promise<void> {
  checkOptions('loadCheckpoint', objs, ['model', 'optimizer']);
  const files = checkpointFiles(dir);
  const kinds = (['model', 'optimizer'] as PairKind[]).filter((k) => objs[k]);
  const read = (file: string): Uint8Array => {
    try {
      return readFileWhole(file);
    } catch (e) {
      throw new KilnError(`cannot read checkpoint ${file}: ${(e as Error).message}`);
    }
  };
  const parsed = loadPair(dir, kinds, read, readSafetensors);
  const model = parsed.model && modelDict(parsed.model);
  const opt = parsed.optimizer && unflattenOptimizerState(parsed.optimizer, `checkpoint ${files.optimizer}`);
  if (opt) checkOptimizerDict(objs.optimizer!, opt, `checkpoint ${files.optimizer}`);
  let undo: Record<string, { shape: number[]; data: Float32Array }> | undefined;
  if (objs.model && model) {
    await pullModel(objs.model);
    undo = objs.model.stateDict();
    try {
      objs.model.loadStateDict(model);
    } catch (e) {
      throw new KilnError(`checkpoint ${files.model}: ${(e as Error).message}`);
    }
  }
  try {
    if (opt) objs.optimizer!.loadStateDict(opt);
  } catch (e) {
    if (undo) objs.model!.loadStateDict(undo);
    throw new KilnError(`checkpoint ${files.optimizer}: ${(e as Error).message}`);
  }
}
