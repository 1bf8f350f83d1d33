// readStateInto (runtime/device.ts) on any device: several ranges of the f32 arena read straight into host arrays
// at once, as sync() reads every tensor; a range outside the arena is refused before anything is written.
import { expect } from 'vitest';
import type { Device } from '../../runtime/device.js';

export async function checkReadStateInto(dev: Device): Promise<void> {
  dev.ensureState('f32', 64);
  dev.writeState(
    'f32',
    0,
    Float32Array.from({ length: 64 }, (_, i) => i + 0.5),
  );
  const a = new Float32Array(5),
    b = new Float32Array(3),
    empty = new Float32Array(0);
  await dev.readStateInto!('f32', [
    { offset: 40, into: a },
    { offset: 2, into: b },
    { offset: 10, into: empty },
  ]);
  expect(Array.from(a)).toEqual([40.5, 41.5, 42.5, 43.5, 44.5]);
  expect(Array.from(b)).toEqual([2.5, 3.5, 4.5]);
  const c = new Float32Array(4).fill(-1);
  await expect(
    dev.readStateInto!('f32', [
      { offset: 0, into: c },
      { offset: 62, into: new Float32Array(4) },
    ]),
  ).rejects.toThrow(/not in the/);
  expect(Array.from(c)).toEqual([-1, -1, -1, -1]);
  // a second read reuses what the first set up (WebGPU: its staging buffer), growing it when needed
  const big = new Float32Array(60);
  await dev.readStateInto!('f32', [{ offset: 4, into: big }]);
  expect(big[59]).toBe(63.5);
}
