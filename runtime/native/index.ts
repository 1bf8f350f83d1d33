// The native runtime: a Device that runs shared libraries built by kiln's LLVM target.
export { createNativeDevice, NativeDevice, type NativeCode } from './device.js';
export { NATIVE_ENTRY, NATIVE_SIZES } from './entry.js';
