// The two symbols every library kiln's LLVM target builds exports (targets/llvm/module.ts), and
// the only ones the native runtime touches:
//   void kiln_run(T0* b0, ..., TN* bN)   runs the program: one pointer per manifest buffer
//   const int64_t kiln_sizes[1 + N]      N, then each buffer's length in elements as compiled
// The runtime refuses any other entry name (a manifest cannot make it call `system`) and, before
// the first call, compares kiln_sizes with the manifest's buffer sizes (the sizes its bounds
// checks trust), so a manifest edited to smaller sizes cannot send the code outside its buffers.
export const NATIVE_ENTRY = 'kiln_run';
export const NATIVE_SIZES = 'kiln_sizes';
/**
 * A program with collectives (runtime/manifest.ts Collective) calls `void kiln_collective(int64_t
 * point)` before kernel `point` (and at the end); the library's runtime support forwards it to the
 * callback set with `void kiln_set_collective(void (*)(int64_t))`, which the native runtime sets
 * to run the collectives on the process group (runtime/native/collectives.ts: set again only when another
 * program of the same library ran since).
 */
export const NATIVE_COLLECTIVE = 'kiln_collective';
export const NATIVE_SET_COLLECTIVE = 'kiln_set_collective';
