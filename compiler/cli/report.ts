// How the CLI talks to people: errors with the user's source line under them, and progress with
// per-stage timings on stderr (stdout stays clean for --json and --emit).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** `message` plus the quoted source line (with a caret) of every "at file:line:col" it names */
export function formatError(e: unknown): string {
  const err = e as Error;
  const msg = err?.message ?? String(e);
  const out = [`error: ${msg}`];
  const seen = new Set<string>();
  for (const m of msg.matchAll(/at ((?:[A-Za-z]:)?[^\s:()]+):(\d+):(\d+)/g)) {
    const [site, file, line, col] = m;
    if (seen.has(site)) continue;
    seen.add(site);
    const src = sourceLine(file, Number(line));
    if (src === undefined) continue;
    const no = `${line} | `;
    out.push('', `  ${site}`, `  ${no}${src}`, `  ${' '.repeat(no.length + Number(col) - 1)}^`);
  }
  if (process.env.KILN_DEBUG && err?.stack) out.push('', err.stack);
  return out.join('\n');
}

function sourceLine(file: string, line: number): string | undefined {
  const abs = path.resolve(file);
  if (!existsSync(abs)) return undefined;
  return readFileSync(abs, 'utf8').split('\n')[line - 1]?.replace(/\t/g, ' ');
}

/** stage timings: `progress.stage('trace', () => ...)` prints "  trace ........ 12 ms" */
export class Progress {
  readonly timings: { stage: string; ms: number }[] = [];
  constructor(private readonly quiet = false) {}

  async stage<T>(name: string, f: () => T | Promise<T>): Promise<T> {
    const t0 = performance.now();
    if (!this.quiet && process.stderr.isTTY) process.stderr.write(`  ${name} ...\r`);
    try {
      return await f();
    } finally {
      const ms = performance.now() - t0;
      this.timings.push({ stage: name, ms });
      if (!this.quiet) process.stderr.write(`  ${name.padEnd(40, ' ')} ${fmtMs(ms).padStart(9)}\n`);
    }
  }

  info(line: string): void {
    if (!this.quiet) process.stderr.write(`${line}\n`);
  }

  summary(): void {
    if (this.quiet) return;
    const total = this.timings.reduce((a, t) => a + t.ms, 0);
    process.stderr.write(`  ${'total'.padEnd(40, ' ')} ${fmtMs(total).padStart(9)}\n`);
  }
}

export const fmtMs = (ms: number) => (ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`);
