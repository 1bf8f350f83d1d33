// Errors that point at the user's code, not kiln's.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const internalDirsOf = (root: string) =>
  ['compiler', 'targets', 'runtime', 'node_modules'].map((d) => path.join(root, d) + path.sep);
const kilnRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const loadedFrom = internalDirsOf(kilnRoot);
/** frames deep enough to get past kiln's own (an op inside a loss inside a module inside a trace) */
const STACK_DEPTH = 40;

const FRAME = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/;

function frameFile(line: string): { file: string; line: string; col: string } | undefined {
  const m = FRAME.exec(line);
  if (!m) return undefined;
  const file = m[1].startsWith('file://') ? fileURLToPath(m[1]) : m[1];
  return { file, line: m[2], col: m[3] };
}

/** The first stack frame outside kiln itself, as "file:line:col", or undefined. */
export function userSite(): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = Math.max(limit, STACK_DEPTH);
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  Error.stackTraceLimit = limit;
  const frames = stack.map(frameFile).filter((f) => f !== undefined);
  // With source maps (tsx, --enable-source-maps) a build's frames name the sources (`<repo>/compiler/
  // errors.ts`), not the files loaded (`<repo>/dist/compiler/errors.js`): kiln's own frames are
  // also those under the root that this very frame (userSite, in compiler/errors) is shown in.
  const self = frames[0]?.file;
  const internal = self && path.isAbsolute(self)
    ? [...loadedFrom, ...internalDirsOf(path.resolve(path.dirname(self), '..'))] : loadedFrom;
  for (const f of frames) {
    if (f.file.startsWith('node:') || !path.isAbsolute(f.file)) continue;
    if (internal.some((d) => f.file.startsWith(d))) continue;
    return `${path.relative(process.cwd(), f.file) || f.file}:${f.line}:${f.col}`;
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
