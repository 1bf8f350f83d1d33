// Errors that point at the user's code, not kiln's.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const kilnRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const internalDirs = ['compiler', 'targets', 'runtime', 'node_modules'].map((d) => path.join(kilnRoot, d) + path.sep);

/** The first stack frame outside kiln itself, as "file:line:col", or undefined. */
export function userSite(): string | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const line of stack) {
    const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/.exec(line);
    if (!m) continue;
    let file = m[1];
    if (file.startsWith('file://')) file = fileURLToPath(file);
    if (file.startsWith('node:') || !path.isAbsolute(file)) continue;
    if (internalDirs.some((d) => file.startsWith(d))) continue;
    return `${path.relative(process.cwd(), file) || file}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

/** An error raised while tracing, naming the op, what was wrong, and where the user called it. */
export class KilnError extends Error {
  constructor(message: string, readonly site = userSite()) {
    super(site ? `${message}\n    at ${site}` : message);
    this.name = 'KilnError';
  }
}

export const fmtShape = (s: readonly number[]) => `[${s.join(', ')}]`;
