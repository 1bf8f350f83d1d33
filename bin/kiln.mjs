#!/usr/bin/env node
// kiln's command line. Users write TypeScript, so this shim runs the TypeScript CLI
// (compiler/cli/main.ts) through tsx's ESM API. It first re-runs node with the `kiln-source`
// export condition, so the user's `import { nn } from 'kiln'` and the CLI load the same copy of
// kiln's source (one trace context, one set of classes).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CONDITION = '--conditions=kiln-source';
if (!process.execArgv.includes(CONDITION)) {
  const r = spawnSync(
    process.execPath,
    [CONDITION, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  if (r.error) {
    console.error(`kiln: cannot start node: ${r.error.message}`);
    process.exit(1);
  }
  process.exit(r.status ?? 1);
}
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../compiler/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
