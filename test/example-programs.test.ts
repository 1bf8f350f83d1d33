// Every program in examples/programs/ is one `kiln build` accepts: its functions trace to graphs a bundle can
// ship (no trace that a later run would invalidate), and a webgpu bundle of it (WGSL, manifests, state files,
// typed API) is written. The native builds are exercised by test/example-gpt.test.ts and build-package.test.ts.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildBundle } from '../compiler/build/bundle.js';
import { loadDefinitions } from '../compiler/build/program.js';
import { Progress } from '../compiler/cli/report.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../examples/programs');
const entries = readdirSync(dir).filter((f) => f.endsWith('.ts'));
const out = mkdtempSync(path.join(tmpdir(), 'kiln-programs-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const manifestKeys = ['buffers', 'cells', 'format', 'host', 'inputs', 'kernels', 'outputs', 'peakBytes'];

describe('examples/programs', () => {
  it('has the seed and both flagship models', () => {
    expect(entries.sort()).toEqual(['char-gpt.ts', 'digits-cnn.ts', 'seed.ts']);
  });
  it.each(entries)(
    '%s builds as a webgpu bundle',
    async (entry) => {
      const [def] = await loadDefinitions(path.join(dir, entry));
      const to = path.join(out, def.name);
      const m = await buildBundle(def, { targets: ['webgpu'], out: to, progress: new Progress(true) });
      expect(m.functions.map((f) => f.name)).toEqual(Object.keys(def.functions));
      for (const f of m.functions) expect(f.targets.webgpu!.manifest.kernels.length).toBeGreaterThan(0);
      expect(existsSync(path.join(to, 'model.safetensors'))).toBe(true);
      // the manifest is what the runtime reads, not the scheduler's graph: JSON expands a graph's shared
      // nodes as a tree, which never finished writing for the CNN
      const manifest = JSON.parse(readFileSync(path.join(to, 'kiln-bundle.json'), 'utf8'));
      for (const f of manifest.functions) expect(Object.keys(f.targets.webgpu.manifest).sort()).toEqual(manifestKeys);
      const dts = readFileSync(path.join(to, 'index.d.ts'), 'utf8');
      for (const name of Object.keys(def.functions)) expect(dts).toContain(`readonly ${name}:`);
    },
    120_000,
  );
});
