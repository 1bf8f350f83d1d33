// Source hygiene that CI enforces on every git-tracked source file (.ts, .mts, .mjs, .js, .py, .sh):
//  - no line over 120 characters (test fixtures exempt: they are data written by other tools);
//  - no source file under compiler/, targets/, runtime/, scripts/ or bench/ over 400 lines, so a
//    module stays small enough to read whole (tests exempt: a long table of cases reads fine).
//   npx tsx scripts/check-lines.ts        (exit 1 naming each file:line over the line limit and each long file)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const MAX_LINE = 120;
const MAX_FILE_LINES = 400;
const SIZED_DIRS = ['compiler/', 'targets/', 'runtime/', 'scripts/', 'bench/'];

const files = execFileSync('git', ['ls-files', '*.ts', '*.mts', '*.mjs', '*.js', '*.py', '*.sh'], { encoding: 'utf8' })
  .split('\n')
  .filter((f) => f && !f.startsWith('test/fixtures/') && existsSync(f));
const long: string[] = [];
const big: string[] = [];
for (const f of files) {
  const lines = readFileSync(f, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop(); // the final newline ends the last line, it starts none
  lines.forEach((line, i) => {
    const chars = [...line].length; // code points, as an editor counts columns
    if (chars > MAX_LINE) long.push(`${f}:${i + 1}: ${chars} characters`);
  });
  if (SIZED_DIRS.some((d) => f.startsWith(d)) && lines.length > MAX_FILE_LINES) {
    big.push(`${f}: ${lines.length} lines`);
  }
}
if (long.length) console.log(`${long.length} lines over ${MAX_LINE} characters:\n${long.join('\n')}`);
if (big.length) console.log(`${big.length} source files over ${MAX_FILE_LINES} lines:\n${big.join('\n')}`);
if (long.length || big.length) process.exit(1);
console.log(
  `check-lines: ${files.length} files, every line within ${MAX_LINE} characters, ` +
    `every source file within ${MAX_FILE_LINES} lines`,
);
