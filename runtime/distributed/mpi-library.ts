// Open MPI's C API through koffi: finding libmpi, checking that it is Open MPI, and binding the calls the
// MPI process group (./mpi.ts) makes. Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are the
// addresses of global symbols (`#define MPI_COMM_WORLD ((MPI_Comm) &ompi_mpi_comm_world)` in its mpi.h),
// so they are looked up here, not hard-coded; MPI_IN_PLACE is `(void *) 1` and MPI_STATUS_IGNORE is NULL.
// MPICH and its derivatives (Intel MPI, MVAPICH) use integer handles and another ABI: refused by name.
// koffi is loaded on first use only, so importing kiln loads no native addon.
import { createRequire } from 'node:module';
import type { LibraryHandle } from 'koffi';

export const MPI_INSTALL_HINT =
  'install Open MPI (Debian/Ubuntu: `apt-get install openmpi-bin libopenmpi-dev`; kiln: scripts/setup.sh), ' +
  'or set KILN_MPI_LIBRARY to the path of its libmpi';

/** what the loader tries, in order, when KILN_MPI_LIBRARY is not set (dlopen's search path) */
export const MPI_LIBRARY_NAMES =
  process.platform === 'darwin' ? ['libmpi.40.dylib', 'libmpi.dylib'] : ['libmpi.so.40', 'libmpi.so'];

export const MPI_THREAD_FUNNELED = 1;
export const MPI_IN_PLACE = 1n;
const MPI_MAX_ERROR_STRING = 256; // OPAL_MAX_ERROR_STRING
const MPI_MAX_LIBRARY_VERSION_STRING = 256;

type Call = (...args: unknown[]) => number;
/** an opaque Open MPI handle: the address of its predefined object */
export type Handle = unknown;

export interface OpenMpi {
  /** the file loaded and what MPI_Get_library_version says ("Open MPI v4.1.4, ...") */
  readonly path: string;
  readonly version: string;
  readonly Init_thread: Call;
  readonly Initialized: Call;
  readonly Finalized: Call;
  readonly Finalize: Call;
  readonly Abort: Call;
  readonly Comm_rank: Call;
  readonly Comm_size: Call;
  readonly Comm_set_errhandler: Call;
  readonly Iallreduce: Call;
  readonly Ibcast: Call;
  readonly Ibarrier: Call;
  readonly Test: Call;
  readonly COMM_WORLD: Handle;
  readonly ERRORS_RETURN: Handle;
  readonly types: { float32: Handle; int32: Handle };
  readonly ops: { sum: Handle; max: Handle; min: Handle };
  /** MPI_Error_string's text for an MPI error code */
  errorString(code: number): string;
}

let loaded: OpenMpi | undefined;

/** libmpi, loaded and bound once per process; throws saying what to install when there is none */
export function openMpi(): OpenMpi {
  return (loaded ??= loadOpenMpi(process.env.KILN_MPI_LIBRARY));
}

function loadOpenMpi(explicit: string | undefined): OpenMpi {
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const candidates = explicit ? [explicit] : MPI_LIBRARY_NAMES;
  const failures: string[] = [];
  for (const name of candidates) {
    let lib: LibraryHandle;
    try {
      // global: Open MPI's plugins (mca_*.so) resolve libmpi's symbols from the global scope
      lib = koffi.load(name, { global: true });
    } catch (e) {
      failures.push(`${name}: ${firstLine(e)}`);
      continue;
    }
    return bind(lib, name);
  }
  const where = explicit ? `KILN_MPI_LIBRARY=${explicit}` : `tried ${candidates.join(', ')}`;
  throw new Error(
    `the 'mpi' backend needs Open MPI's libmpi, which could not be loaded (${where}): ${failures.join('; ')}. ` +
      `To fix it, ${MPI_INSTALL_HINT}`,
  );
}

function bind(lib: LibraryHandle, path: string): OpenMpi {
  const fn = (name: string, args: string[]): Call => {
    try {
      return lib.func(name, 'int', args) as Call;
    } catch (e) {
      throw new Error(`${path} is not an MPI library (it has no ${name}: ${firstLine(e)}); ${MPI_INSTALL_HINT}`);
    }
  };
  const getVersion = fn('MPI_Get_library_version', ['void *', 'void *']);
  const text = Buffer.alloc(MPI_MAX_LIBRARY_VERSION_STRING);
  const len = new Int32Array(1);
  const version = getVersion(text, len) === 0 ? cString(text, len[0]) : 'unknown';
  const symbol = (name: string): Handle => {
    try {
      return lib.symbol(name);
    } catch {
      throw new Error(
        `${path} is an MPI library but not Open MPI (${version.split('\n')[0]}; it has no ${name}): ` +
          "kiln's 'mpi' backend binds Open MPI's ABI, whose handles are the addresses of its global objects " +
          '(MPICH, Intel MPI and MVAPICH use integer handles instead). ' +
          `To fix it, ${MPI_INSTALL_HINT}`,
      );
    }
  };
  const COMM_WORLD = symbol('ompi_mpi_comm_world');
  if (!version.startsWith('Open MPI')) {
    throw new Error(`${path} does not say it is Open MPI (MPI_Get_library_version: "${version}"); ${MPI_INSTALL_HINT}`);
  }
  const errorStringCall = fn('MPI_Error_string', ['int', 'void *', 'void *']);
  const errText = Buffer.alloc(MPI_MAX_ERROR_STRING);
  const errLen = new Int32Array(1);
  return {
    path,
    version,
    Init_thread: fn('MPI_Init_thread', ['void *', 'void *', 'int', 'void *']),
    Initialized: fn('MPI_Initialized', ['void *']),
    Finalized: fn('MPI_Finalized', ['void *']),
    Finalize: fn('MPI_Finalize', []),
    Abort: fn('MPI_Abort', ['void *', 'int']),
    Comm_rank: fn('MPI_Comm_rank', ['void *', 'void *']),
    Comm_size: fn('MPI_Comm_size', ['void *', 'void *']),
    Comm_set_errhandler: fn('MPI_Comm_set_errhandler', ['void *', 'void *']),
    // (sendbuf, recvbuf, count, datatype, op, comm, request*)
    Iallreduce: fn('MPI_Iallreduce', ['void *', 'void *', 'int', 'void *', 'void *', 'void *', 'void *']),
    // (buffer, count, datatype, root, comm, request*)
    Ibcast: fn('MPI_Ibcast', ['void *', 'int', 'void *', 'int', 'void *', 'void *']),
    Ibarrier: fn('MPI_Ibarrier', ['void *', 'void *']),
    // (request*, flag*, status*)
    Test: fn('MPI_Test', ['void *', 'void *', 'void *']),
    COMM_WORLD,
    ERRORS_RETURN: symbol('ompi_mpi_errors_return'),
    types: { float32: symbol('ompi_mpi_float'), int32: symbol('ompi_mpi_int') },
    ops: { sum: symbol('ompi_mpi_op_sum'), max: symbol('ompi_mpi_op_max'), min: symbol('ompi_mpi_op_min') },
    errorString(code: number): string {
      errLen[0] = 0;
      if (errorStringCall(code, errText, errLen) !== 0) return `unknown MPI error ${code}`;
      return cString(errText, errLen[0]);
    },
  };
}

/** the text MPI wrote into `buf` (`len` may count its NUL) */
function cString(buf: Buffer, len: number): string {
  const end = buf.indexOf(0);
  return buf.toString('latin1', 0, Math.min(len, end < 0 ? buf.length : end)).trim();
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}
