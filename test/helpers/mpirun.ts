// Runs a TypeScript script as an MPI job: `mpirun -np N node --import tsx --conditions=kiln-source script`,
// or alone (an MPI singleton: the script's initProcessGroup starts a world of one), with a wall-clock
// timeout, and returns what each rank printed (mpirun's --tag-output lines) and how the job ended.
//
// Loopback and shared memory only. The ranks talk through shared memory (btl self,vader), but mpirun's
// out-of-band channel (and a singleton's orted) listens on 0.0.0.0 whatever oob_tcp_if_include says
// (measured with `ss -ltnp`, Open MPI 4.1.4), so every job runs in a fresh network namespace whose only
// interface is lo (`unshare -n`, or `unshare -rn` where user namespaces stand in for root): nothing it opens
// can be reached from another address. KILN_MPI_NO_NETNS=1 runs without one, where none can be made.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RankOutput {
  stdout: string[];
  stderr: string[];
}

export interface MpiJob {
  /** the job's exit code (mpirun's, or the lone process's); null when a signal ended it */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** whether the helper's own timeout killed it */
  timedOut: boolean;
  /** wall-clock ms from spawn to exit */
  ms: number;
  /** Date.now() at spawn, to compare with times the ranks print */
  startedAt: number;
  /** each rank's lines (alone: rank 0's are the process's) */
  ranks: RankOutput[];
  /** what mpirun itself printed (its untagged lines) */
  stdout: string;
  stderr: string;
}

export interface JobOptions {
  /** processes; ignored alone (default 2) */
  np?: number;
  args?: string[];
  /** added to (or, as undefined, removed from) this process's environment */
  env?: Record<string, string | undefined>;
  /** default 60 s */
  timeoutMs?: number;
}

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const NODE = [process.execPath, '--import', TSX, '--conditions=kiln-source'];
const TAGGED = /^\[\d+,(\d+)\]<(stdout|stderr)>:(.*)$/;

let sandbox: string[] | undefined;

/** the command prefix that runs a command in a network namespace of its own, with lo up */
function netns(): string[] {
  if (sandbox) return sandbox;
  if (process.env.KILN_MPI_NO_NETNS === '1') return (sandbox = []);
  const up = ['sh', '-c', 'ip link set lo up && exec "$0" "$@"'];
  for (const flags of ['-n', '-rn']) {
    const probe = spawnSync('unshare', [flags, ...up, 'true'], { encoding: 'utf8' });
    if (probe.status === 0) return (sandbox = ['unshare', flags, ...up]);
  }
  throw new Error(
    'the MPI tests run each job in a network namespace of its own (mpirun listens on every address), but ' +
      '`unshare -n` / `unshare -rn` with `ip link set lo up` failed here (run as root, enable user namespaces, ' +
      'or install iproute2: scripts/setup.sh); KILN_MPI_NO_NETNS=1 runs them without one',
  );
}

function mpirunPath(): string {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const found = dirs.map((d) => path.join(d, 'mpirun')).find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'mpirun is not installed (not on PATH): the distributed tests run under Open MPI; run scripts/setup.sh ' +
        '(it installs openmpi-bin and libopenmpi-dev)',
    );
  }
  return found;
}

/** `mpirun -np N` on `script` (a path under the repository), loopback and shared memory only */
export function mpirun(script: string, opts: JobOptions = {}): Promise<MpiJob> {
  const launcher = [
    mpirunPath(),
    '--allow-run-as-root',
    '--oversubscribe',
    '--tag-output',
    ...['--mca', 'btl', 'self,vader', '--mca', 'oob_tcp_if_include', 'lo'],
    ...['-np', String(opts.np ?? 2)],
  ];
  return run([...launcher, ...NODE, path.resolve(root, script), ...(opts.args ?? [])], opts, true);
}

/** `script` run alone: initProcessGroup makes it an MPI singleton (world size 1) */
export function alone(script: string, opts: JobOptions = {}): Promise<MpiJob> {
  return run([...NODE, path.resolve(root, script), ...(opts.args ?? [])], opts, false);
}

function run(cmd: string[], opts: JobOptions, tagged: boolean): Promise<MpiJob> {
  const argv = [...netns(), ...cmd];
  const env: Record<string, string | undefined> = {
    ...process.env,
    OMPI_ALLOW_RUN_AS_ROOT: '1',
    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
    OMPI_MCA_btl: 'self,vader', // a singleton's own transports too: no TCP
    OMPI_MCA_oob_tcp_if_include: 'lo',
    NODE_DISABLE_COLORS: '1',
    FORCE_COLOR: '0',
    ...opts.env,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const startedAt = Date.now();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '',
      err = '',
      timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const kill = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig); // the whole process group: mpirun, and the ranks it has not moved out
      } catch {
        /* already gone */
      }
    };
    let hard: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      kill('SIGTERM'); // mpirun forwards it to its ranks
      hard = setTimeout(() => kill('SIGKILL'), 5000);
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (hard) clearTimeout(hard);
      const ms = performance.now() - t0;
      resolve({ code, signal, timedOut, ms, startedAt, ...split(out, err, tagged) });
    });
  });
}

function split(out: string, err: string, tagged: boolean): Pick<MpiJob, 'ranks' | 'stdout' | 'stderr'> {
  const lines = (s: string) => s.replace(/\r/g, '').split('\n').filter(Boolean);
  if (!tagged) return { ranks: [{ stdout: lines(out), stderr: lines(err) }], stdout: out, stderr: err };
  const ranks: RankOutput[] = [];
  const rest = { stdout: [] as string[], stderr: [] as string[] };
  for (const [stream, text] of [
    ['stdout', out],
    ['stderr', err],
  ] as const) {
    for (const line of lines(text)) {
      const m = TAGGED.exec(line);
      if (!m) {
        rest[stream].push(line);
        continue;
      }
      const r = (ranks[Number(m[1])] ??= { stdout: [], stderr: [] });
      r[m[2] as 'stdout' | 'stderr'].push(m[3]);
    }
  }
  return { ranks, stdout: rest.stdout.join('\n'), stderr: rest.stderr.join('\n') };
}

/** the JSON objects a rank printed, one a line (other lines skipped) */
export function records(r: RankOutput | undefined): Record<string, any>[] {
  return (r?.stdout ?? []).flatMap((l) => {
    if (!l.startsWith('{')) return [];
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
}
