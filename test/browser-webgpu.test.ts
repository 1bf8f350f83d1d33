// The seed's compiled training step in a real browser: headless Chromium with WebGPU on
// SwiftShader (navigator.gpu), checked against PyTorch's losses. The page does not run the
// compiler: like an AOT bundle, it gets a prebuilt artifact (WGSL + manifest + initial state,
// built here in Node) and runs it with runtime/webgpu alone, bundled by esbuild from
// test/browser/seed-page.ts. Served on 127.0.0.1 by a tiny node:http server.
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../compiler/index.js';
import { trace } from '../compiler/trace.js';
import { buildWebGPUArtifact } from '../compiler/targets/webgpu.js';
import { seedSetup } from './helpers/seed.js';
import type { PageResult, SeedBundle } from './browser/seed-page.js';

const CHROMIUM = '/usr/bin/chromium';
const here = path.dirname(fileURLToPath(import.meta.url));
const TOL = 1e-4;

/** the seed's step, traced and built for WGSL in Node, with its initial state arenas */
async function seedBundle(): Promise<SeedBundle> {
  const s = seedSetup('seed_example');
  const traced = trace(s.fn, s.inputs);
  const { artifact } = await buildWebGPUArtifact(traced);
  const size = (dt: 'f32' | 'i32') =>
    artifact.manifest.buffers.find((b) => b.kind === 'state' && b.dtype === dt)?.size ?? 0;
  const state = { f32: new Array<number>(size('f32')).fill(0), i32: new Array<number>(size('i32')).fill(0) };
  for (const c of artifact.manifest.cells) {
    const dt = artifact.manifest.buffers[c.buf].dtype;
    traced.cells.get(c.cell)!.data.forEach((v, i) => {
      state[dt][c.offset + i] = v;
    });
  }
  const g = s.golden;
  const cellOf = new Map([...s.model.namedParameters()].map(([name, p]) => [p.cell.id, name]));
  const final = artifact.manifest.cells
    .filter((c) => cellOf.has(c.cell))
    .map((c) => ({
      name: cellOf.get(c.cell)!,
      offset: c.offset,
      data: g.final[cellOf.get(c.cell)!].data,
    }));
  expect(final).toHaveLength(4);
  return {
    artifact,
    state,
    inputs: g.inputs.map((t) => t.data),
    targets: g.targets.map((t) => t.data),
    losses: g.losses,
    final,
    tolerance: TOL,
  };
}

async function bundlePage(): Promise<string> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [path.join(here, 'browser/seed-page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

function serve(files: Record<string, [string, string]>): Promise<Server> {
  const server = createServer((req, res) => {
    const f = files[(req.url ?? '/').split('?')[0]];
    if (!f) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': f[0], 'cache-control': 'no-store' }).end(f[1]);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe.skipIf(!existsSync(CHROMIUM))('browser: the seed on navigator.gpu (headless Chromium, SwiftShader)', () => {
  let server: Server;
  let bundle: SeedBundle;
  beforeAll(async () => {
    bundle = await seedBundle();
    const js = await bundlePage();
    expect(js).not.toMatch(/from\s*["']node:|llvm-bindings|koffi/); // nothing Node-only reached the page
    server = await serve({
      '/': ['text/html; charset=utf-8', readFileSync(path.join(here, 'browser/index.html'), 'utf8')],
      '/seed-page.js': ['text/javascript', js],
      '/seed.json': ['application/json', JSON.stringify(bundle)],
    });
  });
  afterAll(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it("trains 20 steps with PyTorch 1.13's losses", async () => {
    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(path.join(tmpdir(), 'kiln-chromium-'));
    // a fresh profile: playwright takes it as launchPersistentContext's userDataDir
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      viewport: { width: 900, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--enable-unsafe-webgpu',
        '--enable-features=Vulkan',
        '--use-vulkan=swiftshader',
        '--use-webgpu-adapter=swiftshader',
      ],
    });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      const logs: string[] = [];
      page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
      const { port } = server.address() as AddressInfo;
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForSelector('body[data-done="1"]', { timeout: 110_000 });
      const r = await page.evaluate(() => (window as unknown as { kilnResult: PageResult }).kilnResult);
      const shot = '/tmp/kiln-browser-webgpu.png';
      await page.screenshot({ path: shot, fullPage: true });
      console.log(
        `[browser] adapter: ${r.adapter}; ${r.kernels} kernels; ` +
          `max loss error vs PyTorch ${r.maxRelErr.toExponential(2)}, ` +
          `final params ${r.paramErr.toExponential(2)}; screenshot ${shot}`,
      );
      expect(r.error, `page failed:\n${r.error}\n${logs.join('\n')}`).toBeUndefined();
      expect(r.adapter).toMatch(/swiftshader/i);
      expect(r.losses).toHaveLength(bundle.losses.length);
      expect(r.paramErr, 'final parameters vs PyTorch').toBeLessThanOrEqual(TOL);
      r.losses.forEach((l, k) =>
        expect(Math.abs(l - bundle.losses[k]) / bundle.losses[k], `loss at step ${k}`).toBeLessThanOrEqual(TOL),
      );
      // what the page shows
      expect(await page.locator('#status').innerText()).toMatch(/^PASS: 20 steps, max relative error/);
      expect(await page.locator('#steps tr.ok').count()).toBe(20);
      expect(await page.locator('#steps tr.bad').count()).toBe(0);
      expect(await page.locator('#params').innerText()).toMatch(/^final parameters: relative error/);
      expect(await page.locator('#adapter').innerText()).toMatch(/^webgpu:browser:/);
      expect(statSync(shot).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  });
});
