// Options objects of the public API reject names they do not know: a misspelt or snake_case
// option (`{ weight_decay: 0.1 }`) would otherwise be ignored, a silently wrong run. The error
// names the closest valid option.
import { KilnError } from './errors.js';

/** `weight_decay`, `WeightDecay` and `weightdecay` all read as `weightdecay` */
const fold = (name: string) => name.toLowerCase().replace(/[_-]/g, '');

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/**
 * The valid option `name` most likely stands for: the same name in another case or with
 * underscores, else the nearest within a third of its length (at least 2 edits); undefined if
 * none is that close.
 */
export function closestOption(name: string, valid: readonly string[]): string | undefined {
  const f = fold(name);
  const same = valid.find((v) => fold(v) === f);
  if (same) return same;
  let best: string | undefined,
    bestDistance = Math.max(2, Math.floor(f.length / 3)) + 1;
  for (const v of valid) {
    const d = editDistance(f, fold(v));
    if (d < bestDistance) {
      best = v;
      bestDistance = d;
    }
  }
  return best;
}

export function unknownOptionMessage(name: string, owner: string, valid: readonly string[]): string {
  const near = closestOption(name, valid);
  const hint = near ? `did you mean '${near}'?` : `valid options: ${valid.map((v) => `'${v}'`).join(', ')}`;
  return `Unknown option '${name}' for ${owner}; ${hint}`;
}

/**
 * Throws for an options object that is not an object, or that has a key outside `valid`
 * (undefined and null options pass: every option then takes its default).
 */
export function checkOptions(owner: string, opts: unknown, valid: readonly string[]): void {
  if (opts === undefined || opts === null) return;
  if (typeof opts !== 'object' || Array.isArray(opts)) {
    const got = Array.isArray(opts) ? 'an array' : typeof opts;
    throw new KilnError(`${owner}: options must be an object of { ${valid.join(', ')} }, got ${got}`);
  }
  for (const key of Object.keys(opts)) {
    if (!valid.includes(key)) throw new KilnError(unknownOptionMessage(key, owner, valid));
  }
}
