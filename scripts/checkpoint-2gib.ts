// Saves and loads a checkpoint larger than 2 GiB (Node's fs.readFile limit) through kiln's public
// checkpoint API, then checks every value came back. Needs ~12 GB of memory and ~5 GB of disk;
// too slow for `npm test` (the chunked path itself is tested there with tiny chunks).
//   npx tsx --conditions=kiln-source scripts/checkpoint-2gib.ts [dir]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { nn, optim } from '../compiler/index.js';
import { loadCheckpoint, saveCheckpoint } from '../compiler/checkpoint.js';

const dir = process.argv[2] ?? mkdtempSync(path.join(tmpdir(), 'kiln-2gib-'));
const [rows, cols] = [24_000, 24_000]; // 576 M float32 = 2.3 GB
const t0 = Date.now();
const model = new nn.Linear(cols, rows, { bias: false });
const w = model.parameters()[0].cell.data as Float32Array;
for (let i = 0; i < w.length; i += 4099) w[i] = i; // a pattern the load must reproduce
const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
await saveCheckpoint(dir, { model, optimizer: opt });
const bytes = statSync(path.join(dir, 'model.safetensors')).size;
const saved = Date.now();
const back = new nn.Linear(cols, rows, { bias: false });
await loadCheckpoint(dir, { model: back, optimizer: new optim.SGD(back.parameters(), { lr: 0.1 }) });
const v = back.parameters()[0].cell.data as Float32Array;
let bad = 0;
for (let i = 0; i < v.length; i++) if (v[i] !== w[i]) bad++;
console.log(
  JSON.stringify({
    bytes,
    gib: +(bytes / 2 ** 30).toFixed(2),
    saveSeconds: (saved - t0) / 1000,
    loadSeconds: (Date.now() - saved) / 1000,
    mismatches: bad,
  }),
);
if (!process.argv[2]) rmSync(dir, { recursive: true, force: true });
if (bad || bytes <= 2 ** 31) process.exit(1);
