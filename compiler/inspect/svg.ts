// A tiny layered graph layout drawn as SVG (no dependencies): each node's layer is its longest
// path from a source; within a layer nodes are ordered by the mean position of their sources
// (two sweeps), which keeps most edges short. Enough for graphs of a few hundred nodes.

export interface DrawNode {
  id: string;
  label: string;
  sub?: string;
  kind: 'input' | 'state' | 'op' | 'kernel' | 'output';
  title?: string;
}
export interface DrawGraph {
  nodes: DrawNode[];
  edges: [string, string][];
}

const W = 150,
  H = 38,
  GX = 24,
  GY = 46,
  PAD = 20;
const FILL: Record<DrawNode['kind'], string> = {
  input: '#dbeafe',
  state: '#fef3c7',
  op: '#ede9fe',
  kernel: '#dcfce7',
  output: '#fee2e2',
};

export function layout(g: DrawGraph): Map<string, { x: number; y: number; layer: number }> {
  const preds = new Map<string, string[]>(g.nodes.map((n) => [n.id, []]));
  for (const [a, b] of g.edges) if (preds.has(a) && preds.has(b)) preds.get(b)!.push(a);
  const layerOf = new Map<string, number>();
  const visiting = new Set<string>();
  const layerFor = (id: string): number => {
    const known = layerOf.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0; // a cycle (should not happen): cut it
    visiting.add(id);
    const l = Math.max(-1, ...preds.get(id)!.map(layerFor)) + 1;
    visiting.delete(id);
    layerOf.set(id, l);
    return l;
  };
  const layers: string[][] = [];
  for (const n of g.nodes) (layers[layerFor(n.id)] ??= []).push(n.id);
  const pos = new Map<string, number>();
  const place = () => layers.forEach((ids) => ids.forEach((id, i) => pos.set(id, i)));
  place();
  for (let sweep = 0; sweep < 2; sweep++) {
    for (const ids of layers.slice(1)) {
      const key = (id: string) => {
        const p = preds
          .get(id)!
          .map((s) => pos.get(s)!)
          .filter((v) => v !== undefined);
        return p.length ? p.reduce((a, b) => a + b, 0) / p.length : pos.get(id)!;
      };
      const keys = new Map(ids.map((id) => [id, key(id)]));
      ids.sort((a, b) => keys.get(a)! - keys.get(b)!);
      ids.forEach((id, i) => pos.set(id, i));
    }
  }
  const widest = Math.max(1, ...layers.map((l) => l.length));
  const out = new Map<string, { x: number; y: number; layer: number }>();
  layers.forEach((ids, l) => {
    const offset = ((widest - ids.length) * (W + GX)) / 2; // center each layer
    ids.forEach((id, i) => out.set(id, { x: PAD + offset + i * (W + GX), y: PAD + l * (H + GY), layer: l }));
  });
  return out;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function renderSVG(g: DrawGraph): string {
  const at = layout(g);
  const width = Math.max(...[...at.values()].map((p) => p.x + W), 200) + PAD;
  const height = Math.max(...[...at.values()].map((p) => p.y + H), 100) + PAD;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="kiln-graph" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="ui-monospace, monospace" font-size="11">`,
    '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto">' +
      '<path d="M0,0 L8,4 L0,8 z" fill="#64748b"/></marker></defs>',
  ];
  for (const [a, b] of g.edges) {
    const p = at.get(a),
      q = at.get(b);
    if (!p || !q) continue;
    const x1 = p.x + W / 2,
      y1 = p.y + H,
      x2 = q.x + W / 2,
      y2 = q.y,
      my = (y1 + y2) / 2;
    parts.push(
      `<path class="edge" d="M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}" fill="none" stroke="#94a3b8"` +
        ' stroke-width="1.2" marker-end="url(#arrow)"/>',
    );
  }
  for (const n of g.nodes) {
    const p = at.get(n.id)!;
    parts.push(
      `<g class="node ${n.kind}" data-id="${esc(n.id)}"><title>${esc(n.title ?? `${n.label} ${n.sub ?? ''}`)}</title>`,
      `<rect x="${p.x}" y="${p.y}" width="${W}" height="${H}" rx="6" fill="${FILL[n.kind]}" stroke="#475569"/>`,
      `<text x="${p.x + W / 2}" y="${p.y + 15}" text-anchor="middle" font-weight="bold">` +
        `${esc(clip(n.label, 22))}</text>`,
      n.sub
        ? `<text x="${p.x + W / 2}" y="${p.y + 29}" text-anchor="middle" fill="#334155">` +
            `${esc(clip(n.sub, 21))}</text>`
        : '',
      '</g>',
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}
