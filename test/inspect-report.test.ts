// `kiln inspect` on the seed program: JSON for tools, code of one kernel, and the HTML page
// opened in headless Chromium (screenshot taken, content asserted).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const kiln = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(root, 'bin/kiln.mjs'), ...args],
      { cwd: root, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

const seed = 'examples/programs/seed.ts';
const CHROMIUM = '/usr/bin/chromium';

describe('kiln inspect', () => {
  it('reports every pass, the kernels and their costs as JSON', async () => {
    const r = await kiln(['inspect', seed, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.program).toBe('kiln-seed');
    const train = report.functions.find((f: { name: string }) => f.name === 'trainStep');
    expect(train.inputs).toEqual([
      { name: 'x', shape: [1, 10], dtype: 'float32' },
      { name: 'y', shape: [1], dtype: 'int32' },
    ]);
    expect(train.stages[0].name).toBe('trace');
    expect(train.stages.length).toBeGreaterThan(1);
    expect(train.stages[0].text).toMatch(/state\(0\.weight\)/); // cells carry PyTorch's names
    expect(train.stages.at(-1).nodes).toBeLessThan(train.stages[0].nodes);
    expect(train.kernels.length).toBeGreaterThan(1);
    for (const k of train.kernels) {
      expect(k.ops.length).toBeGreaterThan(0);
      expect(k.flops).toBeGreaterThanOrEqual(0);
      expect(k.intensity).toBeCloseTo(k.flops / (k.bytesRead + k.bytesWritten), 9);
      expect(k.reason).not.toBe('');
    }
    expect(train.kernels.some((k: { reason: string }) => /multi-tensor/.test(k.reason))).toBe(true);
  });

  it('shows the same passes the scheduler runs', async () => {
    const { runPasses } = await import('../compiler/passes/index.js');
    const { countNodes } = await import('../compiler/passes/rewrite.js');
    const { graphPasses } = await import('../compiler/inspect/pipeline.js');
    const { traceDefinition } = await import('../compiler/build/program.js');
    const def = (await import('../examples/programs/seed.js')).default;
    for (const f of traceDefinition(def).functions) {
      const stages = graphPasses(f.traced.graph);
      expect(countNodes(stages.at(-1)!.graph)).toBe(countNodes(runPasses(f.traced.graph)));
    }
  });

  it('prints the WGSL, LLVM IR or assembly of one kernel', async () => {
    const wgsl = await kiln(['inspect', seed, '-f', 'trainStep', '--kernel', '0', '--emit', 'wgsl']);
    expect(wgsl.code).toBe(0);
    expect(wgsl.stdout).toMatch(/@compute @workgroup_size/);
    const ir = await kiln(['inspect', seed, '-f', 'trainStep', '--kernel', '0', '--emit', 'llvm']);
    expect(ir.stdout).toMatch(/define void @k0_/);
    const asm = await kiln(['inspect', seed, '-f', 'trainStep', '--kernel', '0', '--emit', 'asm']);
    expect(asm.stdout).toMatch(/k0_\w+:/);
    const bad = await kiln(['inspect', seed, '--kernel', '99', '--emit', 'wgsl']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--kernel 99: the program has kernels 0\.\.\d+/);
  });

  it.skipIf(!existsSync(CHROMIUM))(
    'writes an HTML page with the fused graph as SVG, ' + 'the kernel table and highlighted code',
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'kiln-inspect-'));
      const html = path.join(dir, 'report.html');
      const r = await kiln(['inspect', seed, '-f', 'trainStep', '--html', html]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/trace kiln-seed\s+\d+ ms/); // per-stage timings
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        await page.goto(`file://${html}`);
        expect(await page.title()).toBe('kiln inspect: kiln-seed');
        const kernels = await page.locator('table.kernels tbody tr').count();
        expect(kernels).toBeGreaterThan(1);
        // the fused graph: one box per kernel, drawn with a visible size, joined by edges
        expect(await page.locator('.graph.fused svg g.node.kernel').count()).toBe(kernels);
        expect(await page.locator('.graph.fused svg path.edge').count()).toBeGreaterThanOrEqual(kernels);
        const box = await page.locator('.graph.fused svg').boundingBox();
        expect(box!.width).toBeGreaterThan(100);
        expect(box!.height).toBeGreaterThan(100);
        expect(await page.locator('table.kernels').innerText()).toMatch(/multi-tensor update/);
        expect(await page.locator('pre.code').count()).toBe(kernels);
        expect(await page.locator('pre.code span.k').count()).toBeGreaterThan(0); // highlighted
        const shot = path.join(dir, 'report.png');
        await page.screenshot({ path: shot, fullPage: true });
        expect(statSync(shot).size).toBeGreaterThan(10_000);
      } finally {
        await browser.close();
      }
    },
  );
});
