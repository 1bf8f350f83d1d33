// `kiln inspect` output: text for people and an HTML page (SVG graph, kernel table, code).
import type { FunctionReport, InspectReport, KernelRow } from './report.js';
import { renderSVG } from './svg.js';
import { highlight, type EmitKind } from './code.js';

const si = (n: number) =>
  n >= 1e9
    ? `${(n / 1e9).toFixed(2)}G`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(2)}M`
      : n >= 1e3
        ? `${(n / 1e3).toFixed(1)}k`
        : String(n);
const sig = (f: FunctionReport) =>
  `${f.name}(${f.inputs.map((i) => `${i.name}: ${i.dtype}[${i.shape}]`).join(', ')})` +
  ` -> ${f.outputs.map((o) => `${o.dtype}[${o.shape}]`).join(', ') || 'void'}`;

const fired = (f?: Record<string, number>) =>
  f && Object.keys(f).length
    ? `; rules: ${Object.entries(f)
        .map(([k, n]) => `${k} x${n}`)
        .join(', ')}`
    : '';

export type StageChoice = 'all' | 'last' | 'none';

export function kernelTable(ks: KernelRow[]): string {
  const head = ['#', 'kernel', 'grid', 'ops', 'FLOPs', 'bytes', 'moved', 'FLOP/B', 'strategy', 'boundary'];
  const rows = ks.map((k) => [
    String(k.index),
    k.name,
    `[${k.grid}]`,
    k.ops.join(' '),
    si(k.flops),
    si(k.bytesRead + k.bytesWritten),
    k.moved === undefined ? '' : si(k.moved),
    k.intensity.toFixed(2),
    k.strategy,
    k.reason,
  ]);
  const w = head.map((h, i) => Math.min(i === 3 ? 40 : 60, Math.max(h.length, ...rows.map((r) => r[i].length))));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.length > w[i] ? `${c.slice(0, w[i] - 1)}…` : c.padEnd(w[i])))
      .join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export function renderText(r: InspectReport, stages: StageChoice): string {
  const out = [`program ${r.program} (${r.entry})`];
  for (const f of r.functions) {
    out.push('', `function ${sig(f)}`);
    out.push(`  stages: ${f.stages.map((s) => `${s.name} (${s.nodes} nodes)`).join(' -> ')}`);
    const shown = stages === 'all' ? f.stages : stages === 'last' ? f.stages.slice(-1) : [];
    for (const s of shown) out.push('', `== graph after ${s.name} (${s.nodes} nodes)${fired(s.fired)} ==`, s.text);
    const total = f.kernels.reduce((a, k) => a + k.bytesRead + k.bytesWritten, 0);
    const moved = f.kernels.reduce((a, k) => a + (k.moved ?? 0), 0);
    out.push(
      '',
      `== kernels: ${f.kernels.length}${f.fused ? '' : ' (unfused: one per op; no scheduler in this build)'}, ` +
        `${si(total)} bytes loaded and stored per run${f.fused ? `, ${si(moved)} moved` : ''} ==`,
      kernelTable(f.kernels),
    );
    if (f.collectives?.length) out.push('', ...collectiveLines(f));
  }
  return out.join('\n');
}

function collectiveLines(f: FunctionReport): string[] {
  const cs = f.collectives ?? [];
  const bytes = cs.reduce((a, c) => a + c.bytes, 0);
  const at = (i: number) => (i < f.kernels.length ? `before kernel ${i}` : 'at the end');
  return [
    `== collectives: ${cs.length}, ${si(bytes)} bytes all-reduced per run ==`,
    ...cs.map(
      (c) =>
        `all-reduce ${c.op} ${si(c.bytes)}B: starts ${at(c.start)}, completes ${at(c.wait)}; ` +
        `${c.values.length} values (${c.values.slice(0, 4).join(', ')}${c.values.length > 4 ? ', …' : ''})`,
    ),
  ];
}

const CSS =
  'body{font:14px system-ui,sans-serif;margin:24px;color:#0f172a}h1{font-size:22px}' +
  'h2{font-size:18px;margin-top:32px}\n' +
  'table{border-collapse:collapse;font:12px ui-monospace,monospace}' +
  'td,th{border:1px solid #cbd5e1;padding:3px 6px;text-align:left}th{background:#f1f5f9}\n' +
  'td.num{text-align:right}.graph{overflow:auto;border:1px solid #e2e8f0;max-height:700px}' +
  'pre{background:#0f172a;color:#e2e8f0;padding:12px;overflow:auto;font-size:12px}\n' +
  '.k{color:#f472b6}.t{color:#38bdf8}.n{color:#fbbf24}.c{color:#64748b}.s{color:#86efac}.v{color:#c4b5fd}';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** code: per function, the code of each kernel ({ kernel, emit, text }) to show */
export function renderHTML(r: InspectReport, code: { kernel: number; emit: string; text: string }[][] = []): string {
  const body = r.functions
    .map((f, fi) => {
      const rows = f.kernels
        .map(
          (k) =>
            `<tr><td class="num">${k.index}</td><td>${esc(k.name)}</td>` +
            `<td>[${k.grid}]</td><td>${esc(k.ops.join(' '))}</td><td class="num">${si(k.flops)}</td>` +
            `<td class="num">${si(k.bytesRead)}</td><td class="num">${si(k.bytesWritten)}</td>` +
            `<td class="num">${k.intensity.toFixed(2)}</td><td>${esc(k.strategy)}</td><td>${esc(k.reason)}</td></tr>`,
        )
        .join('\n');
      const stages = f.stages
        .map(
          (s) =>
            `<details><summary>graph after ${esc(s.name)} (${s.nodes} nodes)` +
            `${esc(fired(s.fired))}</summary><pre>${highlight(s.text)}</pre></details>`,
        )
        .join('\n');
      const codes = (code[fi] ?? [])
        .map(
          (c) =>
            `<h3>kernel #${c.kernel} (${esc(c.emit)})</h3>` +
            `<pre class="code">${highlight(c.text, c.emit as EmitKind)}</pre>`,
        )
        .join('\n');
      return (
        `<section class="function" id="fn-${esc(f.name)}">
<h2>${esc(sig(f))}</h2>
<h3>Fused graph: kernels and the buffers between them</h3>
<div class="graph fused">${renderSVG(f.graph)}</div>
<details><summary>Graph after the passes (views folded into their users)</summary>` +
        `<div class="graph ops">${renderSVG(f.opGraph)}</div></details>
<h3>Kernels: ${f.kernels.length}${f.fused ? '' : ' (unfused: one per op)'}</h3>
<table class="kernels"><thead><tr><th>#</th><th>kernel</th><th>grid</th><th>ops fused</th><th>FLOPs</th>` +
        '<th>bytes read</th><th>bytes written</th><th>FLOP/byte</th><th>strategy</th>' +
        `<th>why it ends here</th></tr></thead>
<tbody>${rows}</tbody></table>
<h3>Stages</h3>${stages}
${codes}
</section>`
      );
    })
    .join('\n');
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>kiln inspect: ${esc(r.program)}</title>` +
    `<style>${CSS}</style></head>\n` +
    `<body><h1>kiln inspect: ${esc(r.program)}</h1><p>entry <code>${esc(r.entry)}</code>; ` +
    `${r.functions.length} function(s)</p>\n` +
    `${body}</body></html>`
  );
}
