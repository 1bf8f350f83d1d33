// Errors that point at the user's code, not kiln's.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const internalDirsOf = (root: string) =>
  ['compiler', 'targets', 'runtime', 'node_modules'].map((d) => path.join(root, d) + path.sep);
const kilnRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const loadedFrom = internalDirsOf(kilnRoot);
/** frames enough to get past kiln's own (an op inside a loss inside a module inside a trace) */
const DEEP_STACK = 40;

const FRAME = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/;

function stackLines(limit: number): string[] {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = limit;
  try {
    return new Error().stack?.split('\n').slice(2) ?? [];
  } finally {
    Error.stackTraceLimit = saved;
  }
}

/** the first frame outside kiln; 'deeper' if every frame seen was kiln's and the stack was cut */
function firstOutside(lines: string[], limit: number): string | undefined | 'deeper' {
  let internal = loadedFrom,
    frames = 0;
  for (const line of lines) {
    const m = FRAME.exec(line);
    if (!m) continue;
    const file = m[1].startsWith('file://') ? fileURLToPath(m[1]) : m[1];
    // With source maps (tsx, --enable-source-maps) a build's frames name its sources (`<repo>/
    // compiler/tensor.ts`), not the files loaded (`<repo>/dist/compiler/tensor.js`): kiln's frames
    // are also those under the root the first frame (userSite's own, in compiler/errors) is shown in.
    if (frames++ === 0 && path.isAbsolute(file)) {
      internal = [...loadedFrom, ...internalDirsOf(path.resolve(path.dirname(file), '..'))];
    }
    if (file.startsWith('node:') || !path.isAbsolute(file)) continue;
    if (internal.some((d) => file.startsWith(d))) continue;
    return `${path.relative(process.cwd(), file) || file}:${m[2]}:${m[3]}`;
  }
  return lines.length >= limit ? 'deeper' : undefined;
}

/** The first stack frame outside kiln itself, as "file:line:col", or undefined. */
export function userSite(): string | undefined {
  // the usual stack depth first (capturing frames costs, more so through source maps)
  const limit = Error.stackTraceLimit;
  const site = firstOutside(stackLines(limit + 1), limit);
  return site === 'deeper' ? (firstOutside(stackLines(DEEP_STACK + 1), DEEP_STACK) as string | undefined) : site;
}

/** An error raised while tracing, naming the op, what was wrong, and where the user called it. */
export class KilnError extends Error {
  constructor(
    message: string,
    readonly site = userSite(),
  ) {
    super(site ? `${message}\n    at ${site}` : message);
    this.name = 'KilnError';
  }
}

export const fmtShape = (s: readonly number[]) => `[${s.join(', ')}]`;
