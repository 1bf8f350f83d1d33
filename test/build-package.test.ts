// `kiln build` end to end, as a user ships it: build the seed program, `npm pack` the package,
// install the tarball into a fresh project, and run it there with node (native and webgpu) and in
// headless Chromium (webgpu). The losses equal the reference target's.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, manualSeed, nn, optim, type Tensor } from '../compiler/index.js';
import { loadCheckpoint } from '../compiler/checkpoint.js';
import { encodeSafetensors } from '../runtime/safetensors.js';
import { trainingStep } from './helpers/seed.js';

const SEED_INPUTS = [
  { shape: [1, 10], dtype: 'float32' as const },
  { shape: [1], dtype: 'int32' as const },
];

/** the seed program as examples/programs/seed.ts builds it (manualSeed(0)), compiled on 'reference' */
async function referenceSeed() {
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(10, 5), new nn.ReLU(), new nn.Linear(5, 2));
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const step = await compile(trainingStep(model, new nn.CrossEntropyLoss(), opt), {
    inputs: SEED_INPUTS,
    target: 'reference',
  });
  return { model, opt, step };
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = '/usr/bin/chromium';
const STEPS = 6;
// the same inputs in the test, the node script and the page
const inputsSrc = `(i) => [Float32Array.from({ length: 10 }, (_, j) => Math.sin(i * 10 + j)), Int32Array.of(i % 2)]`;
const inputs = eval(inputsSrc) as (i: number) => [Float32Array, Int32Array];

const sh = (cmd: string, args: string[], cwd: string) =>
  new Promise<string>((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd, maxBuffer: 64 << 20, env: { ...process.env, npm_config_loglevel: 'error' } },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${cmd} ${args.join(' ')} failed:\n${stderr}\n${stdout}`)) : resolve(stdout),
    );
  });

let work: string, bundle: string, app: string;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * A copy of the installed bundle (under app/, so it finds koffi) with its manifest changed by
 * `edit`; `rehash`: also rewrite the root hash in index.js, as someone who edits every file would.
 */
function tampered(name: string, edit: (m: any, dir: string) => void, rehash = true): string {
  const dir = path.join(app, `tampered-${name}`);
  cpSync(path.join(app, 'node_modules/kiln-seed'), dir, { recursive: true });
  const mf = path.join(dir, 'kiln-bundle.json');
  const m = JSON.parse(readFileSync(mf, 'utf8'));
  edit(m, dir);
  writeFileSync(mf, JSON.stringify(m));
  if (rehash) {
    const index = path.join(dir, 'index.js');
    writeFileSync(
      index,
      readFileSync(index, 'utf8').replace(
        /MANIFEST_SHA256 = '[0-9a-f]+'/,
        `MANIFEST_SHA256 = '${sha256(readFileSync(mf))}'`,
      ),
    );
  }
  return path.relative(app, dir);
}

/** loads the bundle in `dir` (relative to app) in a child node */
const loadIn = (dir: string, target: string) =>
  sh(process.execPath, ['-e', `import('./${dir}/index.js').then((b) => b.load({ target: '${target}' }))`], app);
let reference: number[];

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'kiln-build-'));
  bundle = path.join(work, 'bundle');
  await sh(
    process.execPath,
    [
      path.join(root, 'bin/kiln.mjs'),
      'build',
      'examples/programs/seed.ts',
      '--target',
      'all',
      '--out',
      bundle,
      '--quiet',
    ],
    root,
  );
  await sh('npm', ['pack', '--pack-destination', work], bundle);
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
  app = path.join(work, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(work, tgz)], app);

  // the reference: the same program definition compiled for the reference interpreter
  const def = (await import('../examples/programs/seed.js')).default;
  const f = def.functions.trainStep;
  const step = await compile(f.fn as (...a: Tensor[]) => Tensor, { inputs: f.inputs, target: 'reference' });
  reference = [];
  for (let i = 0; i < STEPS; i++) reference.push((await step.run(...inputs(i))).item());
}, 600_000);

describe('kiln build', () => {
  it('writes a package with a typed API, a hashed manifest, code and safetensors state', () => {
    const pkg = JSON.parse(readFileSync(path.join(bundle, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: 'kiln-seed', type: 'module', types: './index.d.ts' });
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['koffi', 'webgpu']); // no compiler, LLVM or ts-morph
    const dts = readFileSync(path.join(bundle, 'index.d.ts'), 'utf8');
    expect(dts).toContain(
      "run(x: Shaped<Float32Array, [1, 10]>, y: Shaped<Int32Array, [1]>): Promise<Tensor<[], 'float32'>>;",
    );
    expect(dts).toContain('@param x float32[1, 10] (10 values, row-major)');
    const m = JSON.parse(readFileSync(path.join(bundle, 'kiln-bundle.json'), 'utf8'));
    expect(m.format).toBe(1);
    expect(m.functions[0].targets.webgpu.manifest.kernels.length).toBeGreaterThan(0);
    expect(m.functions[0].targets.native.code).toMatchObject({
      file: 'native/trainStep.so',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(existsSync(path.join(bundle, 'model.safetensors'))).toBe(true);
    // the installed copy never reaches back into kiln's source
    const files = readdirSync(path.join(app, 'node_modules/kiln-seed/runtime'), { recursive: true }) as string[];
    for (const f of files.filter((x) => x.endsWith('.js'))) {
      expect(readFileSync(path.join(app, 'node_modules/kiln-seed/runtime', f), 'utf8')).not.toMatch(
        /compiler\/|ts-morph|llvm-bindings/,
      );
    }
  });

  it("runs from the installed tarball in node (native and webgpu) with the reference target's losses", async () => {
    const script = path.join(app, 'train.mjs');
    writeFileSync(
      script,
      `import { load } from 'kiln-seed';
const inputs = ${inputsSrc};
const out = {};
for (const target of ['native', 'webgpu']) {
  const p = await load({ target });
  // a class index out of range is refused before the step runs: the losses below start untouched
  let badIndex = '';
  try { await p.trainStep.run(inputs(0)[0], Int32Array.of(7)); } catch (e) { badIndex = e.message; }
  const losses = [];
  for (let i = 0; i < ${STEPS}; i++) losses.push((await p.trainStep.run(...inputs(i))).item());
  const { model, optimizer } = await p.saveState();
  out[target] = { losses, badIndex, modelBytes: model.length, optimizerBytes: optimizer.length };
  p.destroy();
}
console.log(JSON.stringify(out));
`,
    );
    const out = JSON.parse((await sh(process.execPath, [script], app)).trim().split('\n').at(-1)!);
    for (const target of ['native', 'webgpu']) {
      expect(out[target].losses).toHaveLength(STEPS);
      expect(out[target].badIndex).toContain('Target 7 is out of bounds.');
      out[target].losses.forEach((l: number, i: number) => expect(l).toBeCloseTo(reference[i], 5));
      expect(out[target].modelBytes).toBeGreaterThan(4 * 67);
    }
  });

  it('refuses a tampered file (content hashes checked at load)', async () => {
    const dir = path.join(app, 'node_modules/kiln-seed');
    const model = path.join(dir, 'model.safetensors');
    const good = readFileSync(model);
    const bad = Buffer.from(good);
    bad[bad.length - 1] ^= 1;
    writeFileSync(model, bad);
    try {
      await expect(
        sh(process.execPath, ['-e', "import('kiln-seed').then((b) => b.load({ target: 'native' }))"], app),
      ).rejects.toThrow(/model\.safetensors has SHA-256 .* the file was changed or corrupted/);
    } finally {
      writeFileSync(model, good);
    }
  });

  it('saves and loads checkpoints with PyTorch keys; a checkpoint of another shape changes nothing', async () => {
    const ckpt = path.join(app, 'ckpt');
    mkdirSync(ckpt, { recursive: true });
    writeFileSync(
      path.join(ckpt, 'bad.safetensors'),
      encodeSafetensors({
        '0.weight': { shape: [7, 10], data: new Float32Array(70) },
        '0.bias': { shape: [5], data: new Float32Array(5) },
        '2.weight': { shape: [2, 5], data: new Float32Array(10) },
        '2.bias': { shape: [2], data: new Float32Array(2) },
      }),
    );
    const script = path.join(app, 'ckpt.mjs');
    writeFileSync(
      script,
      `import { load } from 'kiln-seed';
import { readFileSync, writeFileSync } from 'node:fs';
const inputs = ${inputsSrc};
const p = await load({ target: 'native' });
for (let i = 0; i < 3; i++) await p.trainStep.run(...inputs(i));
const files = await p.saveState();
writeFileSync('ckpt/model.safetensors', files.model);
writeFileSync('ckpt/optimizer.safetensors', files.optimizer);
const probe = new Float32Array(10).fill(0.5);
const before = Array.from((await p.predict.run(probe)).data);
let error = '';
try { await p.loadState({ model: readFileSync('ckpt/bad.safetensors') }); } catch (e) { error = e.message; }
const after = Array.from((await p.predict.run(probe)).data);
const q = await load({ target: 'native' });
await q.loadState(files);
const next = [(await p.trainStep.run(...inputs(3))).item(), (await q.trainStep.run(...inputs(3))).item()];
console.log(JSON.stringify({ before, after, error, next }));
`,
    );
    const out = JSON.parse((await sh(process.execPath, [script], app)).trim().split('\n').at(-1)!);
    expect(out.error).toMatch(/size mismatch for 0\.weight: the checkpoint has shape \[7,10\], the bundle \[5,10\]/);
    expect(out.after).toEqual(out.before);
    expect(out.next[1]).toBe(out.next[0]); // a second instance resumes exactly from the checkpoint

    // kiln's own checkpoint loader (and so PyTorch's key scheme) reads what the bundle saved
    const model = new nn.Sequential(new nn.Linear(10, 5), new nn.ReLU(), new nn.Linear(5, 2));
    const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
    await loadCheckpoint(ckpt, { model, optimizer: opt });
    expect(opt.stateDict().state[0].step).toBe(3);
    const crit = new nn.CrossEntropyLoss();
    const step = await compile(trainingStep(model, crit, opt), { inputs: SEED_INPUTS });
    expect((await step.run(...inputs(3))).item()).toBeCloseTo(out.next[0], 5);
  });

  it(
    'changes hyperparameters between runs like compile() does; saves and restores them; ' + 'refuses graph changes',
    async () => {
      // the reference: the seed program rebuilt (same seed), lr raised after 3 steps
      const { opt, step } = await referenceSeed();
      const expected: number[] = [];
      for (let i = 0; i < STEPS + 1; i++) {
        if (i === 3) {
          opt.paramGroups[0].lr = 0.05;
          opt.paramGroups[0].betas = [0.8, 0.99];
        }
        expected.push((await step.run(...inputs(i))).item());
      }
      const script = path.join(app, 'hyper.mjs');
      writeFileSync(
        script,
        `import { load } from 'kiln-seed';
import { decodeSafetensors } from './node_modules/kiln-seed/runtime/safetensors.js';
import { encodeSafetensors } from './node_modules/kiln-seed/runtime/safetensors.js';
const inputs = ${inputsSrc};
const out = { errors: [] };
const attempt = (f) => { try { f(); out.errors.push(''); } catch (e) { out.errors.push(e.message); } };
for (const target of ['native', 'webgpu']) {
  const p = await load({ target });
  const losses = [];
  for (let i = 0; i < ${STEPS}; i++) {
    if (i === 3) { p.optimizer.paramGroups[0].lr = 0.05; p.optimizer.paramGroups[0].betas = [0.8, 0.99]; }
    losses.push((await p.trainStep.run(...inputs(i))).item());
  }
  out[target] = losses;
  if (target === 'webgpu') { p.destroy(); continue; }
  attempt(() => { p.optimizer.paramGroups[0].amsgrad = true; });
  attempt(() => { p.optimizer.paramGroups[0].weightDecay = 0.1; });
  attempt(() => { p.optimizer.paramGroups[0].lrr = 0.1; });
  attempt(() => { p.optimizer.paramGroups[1].lr = 0.1; });
  attempt(() => { p.optimizer.paramGroups[0].lr = 'fast'; });
  attempt(() => { p.optimizer.paramGroups[0].amsgrad = false; }); // the compiled value: fine
  const files = await p.saveState();
  out.saved = JSON.parse(decodeSafetensors(files.optimizer).metadata.param_groups);
  const q = await load({ target });
  await q.loadState(files);
  out.restored = { ...q.optimizer.paramGroups[0] };
  out.next = [
    (await p.trainStep.run(...inputs(${STEPS}))).item(),
    (await q.trainStep.run(...inputs(${STEPS}))).item(),
  ];
  const f = decodeSafetensors(files.optimizer);
  const groups = JSON.parse(f.metadata.param_groups); groups[0].amsgrad = true; groups[0].lr = 1;
  try {
    await q.loadState({
      optimizer: encodeSafetensors(f.tensors, { format: 'pt', param_groups: JSON.stringify(groups) }),
    });
  } catch (e) { out.badLoad = e.message; }
  out.afterBad = q.optimizer.paramGroups[0].lr;
}
console.log(JSON.stringify(out));
`,
      );
      const out = JSON.parse((await sh(process.execPath, [script], app)).trim().split('\n').at(-1)!);
      for (const target of ['native', 'webgpu']) {
        out[target].forEach((l: number, i: number) => expect(l).toBeCloseTo(expected[i], 5));
      }
      expect(out.native[2]).toBeCloseTo(reference[2], 6); // unchanged before the change
      expect(Math.abs(expected[5] - reference[5])).toBeGreaterThan(1e-4); // and the change matters
      expect(out.errors[0]).toMatch(
        new RegExp(
          /paramGroups\[0\]\.amsgrad = true would change the compiled graph /.source +
            /\(it was traced with amsgrad false\).*rebuild with `kiln build`/.source,
        ),
      );
      expect(out.errors[1]).toMatch(
        /weightDecay = 0\.1 would change the compiled graph \(it was traced with weightDecay == 0\)/,
      );
      expect(out.errors[2]).toMatch(/paramGroups\[0\]\.lrr: unknown hyperparameter \(the group has lr, betas, eps/);
      expect(out.errors[3]).toMatch(/no paramGroups\[1\]: the optimizer has 1 param group/);
      expect(out.errors[4]).toMatch(/paramGroups\[0\]\.lr must be a number/);
      expect(out.errors[5]).toBe('');
      expect(out.saved[0]).toMatchObject({
        lr: 0.05,
        betas: [0.8, 0.99],
        eps: 1e-8,
        weight_decay: 0,
        amsgrad: false,
        params: [0, 1, 2, 3],
      });
      expect(out.restored).toMatchObject({ lr: 0.05, betas: [0.8, 0.99] });
      expect(out.next[1]).toBe(out.next[0]);
      expect(out.next[0]).toBeCloseTo(expected[STEPS], 5);
      expect(out.badLoad).toMatch(/param_groups: paramGroups\[0\]\.amsgrad = true would change the compiled graph/);
      expect(out.afterBad).toBe(0.05); // a refused checkpoint changes nothing
      const dts = readFileSync(path.join(bundle, 'index.d.ts'), 'utf8');
      expect(dts).toContain('readonly optimizer: { readonly paramGroups: readonly [ParamGroup0] };');
      expect(dts).toMatch(/ lr: number;[\s\S]* betas: readonly \[number, number\];[\s\S]* readonly amsgrad: boolean;/);
    },
  );

  it('orders unawaited runs, an lr change and a state load in call order; takes inputs at the call', async () => {
    const { model, opt, step } = await referenceSeed();
    const initial = { model: model.stateDict(), opt: opt.stateDict() };
    const expected: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      if (i === 2) opt.paramGroups[0].lr = 0.05;
      if (i === 4) {
        model.loadStateDict(initial.model);
        opt.loadStateDict(initial.opt);
      }
      expected.push((await step.run(...inputs(i))).item());
    }
    const script = path.join(app, 'order.mjs');
    writeFileSync(
      script,
      `import { load } from 'kiln-seed';
const inputs = ${inputsSrc};
const out = {};
for (const target of ['native', 'webgpu']) {
  const p = await load({ target });
  const initial = await p.saveState();
  const x = new Float32Array(10), y = new Int32Array(1);
  const runs = [];
  for (let i = 0; i < ${STEPS}; i++) {
    if (i === 2) p.optimizer.paramGroups[0].lr = 0.05;
    if (i === 4) runs.push(p.loadState(initial).then(() => null));
    const [a, b] = inputs(i);
    x.set(a); y.set(b);
    runs.push(p.trainStep.run(x, y).then((t) => t.item())); // not awaited
    x.fill(NaN); y[0] = 1 - b[0]; // the run took its inputs at the call
  }
  out[target] = (await Promise.all(runs)).filter((l) => l !== null);
  p.destroy();
}
console.log(JSON.stringify(out));
`,
    );
    const out = JSON.parse((await sh(process.execPath, [script], app)).trim().split('\n').at(-1)!);
    for (const target of ['native', 'webgpu']) {
      expect(out[target]).toHaveLength(STEPS);
      out[target].forEach((l: number, i: number) => expect(l, `${target} step ${i}`).toBeCloseTo(expected[i], 5));
    }
  });

  it(
    'hashes its own manifest: editing only kiln-bundle.json (buffer sizes) is refused ' + 'before anything runs',
    async () => {
      const dir = tampered(
        'sizes-only',
        (m) => {
          m.functions[0].targets.native.manifest.buffers[0].size = 1;
        },
        false,
      );
      await expect(loadIn(dir, 'native')).rejects.toThrow(
        /kiln-bundle\.json has SHA-256 .* the file was changed or corrupted/,
      );
      const pkg = JSON.parse(readFileSync(path.join(bundle, 'package.json'), 'utf8'));
      expect(pkg.kiln.manifestSha256).toBe(sha256(readFileSync(path.join(bundle, 'kiln-bundle.json'))));
    },
  );

  it(
    'even with the root hash rewritten, refuses buffer sizes the code was not compiled for ' + '(native and webgpu)',
    async () => {
      const grow = tampered('sizes', (m) => {
        for (const t of ['native', 'webgpu']) {
          m.functions[0].targets[t].manifest.buffers.forEach((b: { size: number }) => {
            b.size = Math.max(1, b.size >> 1);
          });
        }
      });
      await expect(loadIn(grow, 'native')).rejects.toThrow(
        new RegExp(
          /trainStep\.so was compiled for buffer sizes \[\d.*\], /.source +
            /the manifest says \[.*\]: refusing to run it/.source,
        ),
      );
      await expect(loadIn(grow, 'webgpu')).rejects.toThrow(
        /kernels were generated for buffer sizes \[.*\], the manifest says .*refusing to run them/,
      );
      // another function's library (also kiln's, same entry point): its sizes differ
      const swapped = tampered('swapped', (m, dir) => {
        m.functions[0].targets.native.code = {
          file: 'native/predict.so',
          sha256: sha256(readFileSync(path.join(dir, 'native/predict.so'))),
        };
      });
      await expect(loadIn(swapped, 'native')).rejects.toThrow(/predict\.so was compiled for buffer sizes/);
    },
  );

  it('never opens a library outside the bundle or calls an entry kiln did not generate (libc system)', async () => {
    const libc = ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/aarch64-linux-gnu/libc.so.6', '/lib64/libc.so.6'].find(
      existsSync,
    )!;
    const code = (file: string) => ({
      file,
      sha256: sha256(readFileSync(file.startsWith('/') ? file : path.join(bundle, file))),
    });
    const attacks: [string, (m: any, dir: string) => void, RegExp][] = [
      [
        'libc',
        (m) => {
          Object.assign(m.functions[0].targets.native, { code: code(libc), entry: 'system' });
        },
        /"\/lib.*libc\.so\.6" is not a plain relative path inside the bundle's folder/,
      ],
      [
        'dotdot',
        (m) => {
          m.functions[0].targets.native.code.file = '../kiln-seed/native/trainStep.so';
        },
        /"\.\.\/kiln-seed\/native\/trainStep\.so" is not a plain relative path/,
      ],
      [
        'encoded',
        (m) => {
          m.state.model.file = '%2e%2e/kiln-seed/model.safetensors';
        },
        /is not a plain relative path/,
      ],
      [
        'symlink',
        (m, dir) => {
          rmSync(path.join(dir, 'native/trainStep.so'));
          symlinkSync(libc, path.join(dir, 'native/trainStep.so'));
          m.functions[0].targets.native.code = { file: 'native/trainStep.so', sha256: code(libc).sha256 };
        },
        /native\/trainStep\.so leads outside the bundle's folder \(to .*libc.*, through a symbolic link\)/,
      ],
      [
        'entry',
        (m) => {
          m.functions[0].targets.native.entry = 'system';
        },
        /names "system" as trainStep's native entry point; kiln's libraries have one, 'kiln_run'/,
      ],
    ];
    for (const [name, edit, error] of attacks) {
      const dir = tampered(name, edit);
      await expect(loadIn(dir, 'native')).rejects.toThrow(error);
    }
    // a foreign library copied into the bundle, kiln's entry name: it declares no sizes, so it is never called
    const foreign = [
      '/lib/x86_64-linux-gnu/libz.so.1',
      '/usr/lib/x86_64-linux-gnu/libz.so.1',
      '/lib/aarch64-linux-gnu/libz.so.1',
    ].find(existsSync);
    if (foreign) {
      const dir = tampered('foreign', (m, d) => {
        writeFileSync(path.join(d, 'native/trainStep.so'), readFileSync(foreign));
        m.functions[0].targets.native.code.sha256 = sha256(readFileSync(foreign));
      });
      await expect(loadIn(dir, 'native')).rejects.toThrow(
        /trainStep\.so declares no buffer sizes \(kiln_sizes.*it was not built by this kiln/,
      );
    }
  });

  it('refuses a target bundles do not have without suggesting a flag the CLI rejects', async () => {
    const message = await loadIn('node_modules/kiln-seed', 'reference').then(
      () => '',
      (e: Error) => e.message,
    );
    expect(message).toMatch(
      new RegExp(
        /unknown target "reference": a bundle runs 'native' or 'webgpu' \(built: native, webgpu\); /.source +
          /the 'reference' interpreter is compile\(\)'s/.source,
      ),
    );
    expect(message).not.toMatch(/--target reference/);
  });

  it('refuses, before opening the library, a native bundle whose CPU features this machine lacks', async () => {
    const fake = tampered('cpu', (m, dir) => {
      expect(m.cpuTarget).toMatchObject({ arch: process.arch, features: expect.arrayContaining(['sse2']) });
      m.cpuTarget.features.push('kiln_imaginary_feature');
      writeFileSync(path.join(dir, 'native/trainStep.so'), 'not a library'); // never reached
    });
    await expect(loadIn(fake, 'native')).rejects.toThrow(
      new RegExp(
        /built for CPU '.*' and uses features this CPU lacks: kiln_imaginary_feature /.source +
          /\(running it would crash with SIGILL\); rebuild it .*kiln build --cpu native/.source,
      ),
    );
  });

  it.skipIf(process.arch !== 'x64')(
    'builds for a named CPU level (--cpu x86-64-v2) that loads and runs',
    async () => {
      const v2 = path.join(app, 'v2');
      await sh(
        process.execPath,
        [
          path.join(root, 'bin/kiln.mjs'),
          'build',
          'examples/programs/seed.ts',
          '--target',
          'native',
          '--cpu',
          'x86-64-v2',
          '--out',
          v2,
          '--quiet',
        ],
        root,
      );
      const m = JSON.parse(readFileSync(path.join(v2, 'kiln-bundle.json'), 'utf8'));
      expect(m.cpu).toBe('x86-64-v2');
      expect(m.cpuTarget.features).toEqual(expect.arrayContaining(['sse4_2', 'popcnt']));
      expect(m.cpuTarget.features).not.toContain('avx2');
      const out = await sh(
        process.execPath,
        [
          '-e',
          `import('./v2/index.js').then(async (b) => { const p = await b.load({ target: 'native' }); ` +
            `const inputs = ${inputsSrc}; const l = []; ` +
            `for (let i = 0; i < ${STEPS}; i++) l.push((await p.trainStep.run(...inputs(i))).item()); ` +
            `console.log(JSON.stringify(l)); })`,
        ],
        app,
      );
      JSON.parse(out.trim().split('\n').at(-1)!).forEach((l: number, i: number) =>
        expect(l).toBeCloseTo(reference[i], 5),
      );
    },
    300_000,
  );

  it.skipIf(!existsSync(CHROMIUM))(
    'runs in headless Chromium on WebGPU ' + "with the reference target's losses",
    async () => {
      writeFileSync(
        path.join(app, 'index.html'),
        `<!doctype html><meta charset="utf-8"><title>kiln-seed</title><pre id="out">running</pre>
<script type="module">
import { load } from './node_modules/kiln-seed/index.js';
const inputs = ${inputsSrc};
try {
  const p = await load({ target: 'webgpu', gpu: navigator.gpu });
  const losses = [];
  for (let i = 0; i < ${STEPS}; i++) losses.push((await p.trainStep.run(...inputs(i))).item());
  window.result = { losses };
} catch (e) { window.result = { error: String(e && e.stack || e) }; }
document.getElementById('out').textContent = JSON.stringify(window.result);
</script>`,
      );
      const types: Record<string, string> = {
        '.html': 'text/html',
        '.js': 'text/javascript',
        '.json': 'application/json',
      };
      const server = http
        .createServer((req, res) => {
          const file = path.join(app, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
          if (!file.startsWith(app) || !existsSync(file)) {
            res.statusCode = 404;
            res.end();
            return;
          }
          res.setHeader('content-type', types[path.extname(file)] ?? 'application/octet-stream');
          res.end(readFileSync(file));
        })
        .listen(0, '127.0.0.1');
      await new Promise((r) => server.on('listening', r));
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--enable-unsafe-webgpu',
          '--enable-features=Vulkan',
          '--use-webgpu-adapter=swiftshader',
        ],
      });
      try {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/index.html`);
        await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, {
          timeout: 120_000,
        });
        const result = await page.evaluate(
          () => (window as unknown as { result: { losses?: number[]; error?: string } }).result,
        );
        expect(result.error).toBeUndefined();
        result.losses!.forEach((l, i) => expect(l).toBeCloseTo(reference[i], 5));
        await page.screenshot({ path: path.join(work, 'page.png') });
      } finally {
        await browser.close();
        server.close();
      }
    },
  );
});

afterAll(() => {
  if (process.env.KILN_KEEP_BUILD) console.log(`build test files in ${work}`);
  else execFileSync('rm', ['-rf', work]);
});
