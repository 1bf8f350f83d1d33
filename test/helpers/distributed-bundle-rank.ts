// One rank of test/distributed-bundle.test.ts's job: `build <out> <target>` builds the DDP program's package
// (alone: an MPI singleton), `train <out> <target>` loads it, starts the package's own process group and
// trains rank r's 8 rows of each 16-row batch; it prints its final weights, a JSON line a tensor.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { root } from './mpirun.js';
import { mlpBatch } from './ddp-batch.js';

const [job, out, target] = process.argv.slice(2);
if (job === 'build') {
  execFileSync(
    process.execPath,
    ['bin/kiln.mjs', 'build', 'test/fixtures/programs/ddp-mlp.ts', '--target', target, '--out', out],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
} else {
  const pkg = await import(path.join(out, 'index.js'));
  const group = pkg.distributed.initProcessGroup();
  const program = await pkg.load({ target });
  for (let s = 0; s < 10; s++) {
    const [x, y] = mlpBatch(s, 16);
    await program.trainStep.run(
      x.subarray(group.rank * 80, (group.rank + 1) * 80),
      y.subarray(group.rank * 8, (group.rank + 1) * 8),
    );
  }
  // a line a tensor, its float32 bytes in base64: mpirun splits long output lines
  const sd = await program.stateDict();
  for (const [key, v] of Object.entries(sd) as [string, { data: Float32Array }][]) {
    const data = Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).toString('base64');
    console.log(JSON.stringify({ event: 'weight', rank: group.rank, size: group.size, key, data }));
  }
  program.destroy();
  pkg.distributed.destroyProcessGroup();
}
