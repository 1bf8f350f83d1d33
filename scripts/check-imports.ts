// Source hygiene that CI enforces: no import cycles among the git-tracked .ts files of compiler/,
// targets/, runtime/, scripts/ and bench/. A cycle makes module initialisation order matter and
// hides which module owns a thing; a type-only cycle (`import type`) costs nothing at run time but
// still says a type lives in the wrong module, so it counts too. Dynamic `import()` is left out: it
// runs after every module has loaded, which is why the code uses it to load targets lazily.
//   npx tsx scripts/check-imports.ts      (exit 1 listing each cycle: its files and the imports that close it)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOTS = ['compiler/', 'targets/', 'runtime/', 'scripts/', 'bench/'];

interface ImportEdge {
  to: string;
  typeOnly: boolean;
}

/** the relative `import ... from`, `import '...'` and `export ... from` specifiers of one file, resolved */
function importsOf(file: string, known: Set<string>): ImportEdge[] {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const edges: ImportEdge[] = [];
  for (const st of src.statements) {
    let spec: ts.Expression | undefined;
    let typeOnly = false;
    if (ts.isImportDeclaration(st)) {
      spec = st.moduleSpecifier;
      const clause = st.importClause;
      const named = clause?.namedBindings;
      typeOnly =
        !!clause &&
        (clause.isTypeOnly ||
          (!clause.name &&
            !!named &&
            ts.isNamedImports(named) &&
            named.elements.length > 0 &&
            named.elements.every((e) => e.isTypeOnly)));
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier) {
      spec = st.moduleSpecifier;
      const named = st.exportClause;
      typeOnly =
        st.isTypeOnly ||
        (!!named && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly));
    }
    if (!spec || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) continue;
    const to = resolve(file, spec.text, known);
    const seen = to && edges.find((e) => e.to === to);
    if (seen)
      seen.typeOnly &&= typeOnly; // one value import of a module makes the edge a value edge
    else if (to) edges.push({ to, typeOnly });
  }
  return edges;
}

/** `./x.js` from `dir/a.ts` is `dir/x.ts` (NodeNext spells the emitted name); `./d` may be `./d/index.ts` */
function resolve(from: string, spec: string, known: Set<string>): string | undefined {
  const base = path.posix.join(path.posix.dirname(from), spec);
  const candidates = [
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    base,
    `${base}.ts`,
    `${base}/index.ts`,
  ];
  return candidates.find((c) => known.has(c));
}

/** Tarjan's strongly connected components, iterative so a deep import chain cannot overflow the stack */
function components(nodes: string[], next: (n: string) => string[]): string[][] {
  const index = new Map<string, number>(),
    low = new Map<string, number>(),
    onStack = new Set<string>();
  const stack: string[] = [],
    out: string[][] = [];
  let counter = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { node: string; children: string[]; at: number }[] = [];
    const visit = (n: string) => {
      index.set(n, counter);
      low.set(n, counter);
      counter++;
      stack.push(n);
      onStack.add(n);
      work.push({ node: n, children: next(n), at: 0 });
    };
    visit(root);
    while (work.length) {
      const top = work[work.length - 1];
      if (top.at < top.children.length) {
        const c = top.children[top.at++];
        if (!index.has(c)) visit(c);
        else if (onStack.has(c)) low.set(top.node, Math.min(low.get(top.node)!, index.get(c)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!));
      }
      if (low.get(top.node) === index.get(top.node)) {
        const scc: string[] = [];
        let m: string;
        do {
          m = stack.pop()!;
          onStack.delete(m);
          scc.push(m);
        } while (m !== top.node);
        out.push(scc);
      }
    }
  }
  return out;
}

const files = execFileSync('git', ['ls-files', ...ROOTS.map((r) => `${r}*.ts`)], { encoding: 'utf8' })
  .split('\n')
  .filter((f) => f && existsSync(f));
const known = new Set(files);
const graph = new Map(files.map((f) => [f, importsOf(f, known)]));
const cycles = components(files, (f) => graph.get(f)!.map((e) => e.to)).filter((c) => c.length > 1);
for (const scc of cycles) {
  const members = new Set(scc);
  const sorted = [...scc].sort();
  console.log(`import cycle of ${scc.length} files:`);
  for (const f of sorted) {
    for (const e of graph.get(f)!) {
      if (members.has(e.to)) console.log(`  ${f} -> ${e.to}${e.typeOnly ? ' (type only)' : ''}`);
    }
  }
}
if (cycles.length) {
  console.log(`${cycles.length} import cycle${cycles.length === 1 ? '' : 's'}`);
  process.exit(1);
}
console.log(`check-imports: ${files.length} files, no import cycles`);
