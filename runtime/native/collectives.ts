// Collectives of a native program (runtime/manifest.ts Collective): the library's kiln_run calls
// kiln_collective(point) between launches (runtime/native/entry.ts), which calls back into this
// process on the calling thread (the callback stays set between runs); the callback runs that point's
// collectives on the process group over views of the buffers kiln_run was given. A failure inside the
// callback cannot unwind through native frames: it is kept, the rest of the run sees the collective as not
// done, and the run throws it.
import koffi, { type LibraryHandle, type TypeObject } from 'koffi';
import type { HostArray } from '../device.js';
import type { Manifest } from '../manifest.js';
import { CollectiveSchedule } from '../distributed/collectives.js';
import { NATIVE_SET_COLLECTIVE } from './entry.js';

let callbackType: TypeObject | undefined;
const pointerType = () => (callbackType ??= koffi.pointer(koffi.proto('void kiln_collective_fn(int64_t point)')));

/** per loaded library (a library is loaded once per process): the program whose callback it holds */
const answering = new WeakMap<LibraryHandle, NativeCollectives>();

export class NativeCollectives {
  private readonly schedule: CollectiveSchedule;
  private readonly setCallback: (cb: unknown) => void;
  private readonly callback: unknown;
  private failure: unknown = undefined;

  constructor(
    private readonly lib: LibraryHandle,
    library: string,
    m: Manifest,
    bufs: () => HostArray[],
  ) {
    this.schedule = new CollectiveSchedule(m);
    try {
      this.setCallback = lib.func(NATIVE_SET_COLLECTIVE, 'void', [pointerType()]);
    } catch (e) {
      throw new Error(
        `native artifact: ${library} has collectives but no ${NATIVE_SET_COLLECTIVE} (${(e as Error).message}): ` +
          'it was not built by this kiln; refusing to run it',
      );
    }
    this.callback = koffi.register((point: number | bigint) => {
      if (this.failure !== undefined) return;
      try {
        const b = bufs();
        this.schedule.run(Number(point), (c) => (b[c.buf] as Float32Array).subarray(c.offset, c.offset + c.length));
      } catch (e) {
        this.failure = e;
      }
    }, pointerType());
  }

  /** `call` (the one foreign call of a run) with this program's collectives answered */
  around(call: () => void): void {
    this.failure = undefined;
    // the callback is the library's (one copy of it per process): set it only when another program of the same
    // library set its own since, not twice a step
    if (answering.get(this.lib) !== this) {
      this.setCallback(this.callback);
      answering.set(this.lib, this);
    }
    call();
    if (this.failure !== undefined) {
      this.schedule.abandon();
      const e = this.failure;
      this.failure = undefined;
      throw e;
    }
  }
}
