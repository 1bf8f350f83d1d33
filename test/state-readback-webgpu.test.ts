// sync()'s read-back on WebGPU: every range into one staging buffer (kept between syncs), one submit, one map.
import { describe, it } from 'vitest';
import { createWebGPUDevice } from '../runtime/webgpu/index.js';
import { checkReadStateInto } from './helpers/readback.js';

describe('readStateInto on webgpu', () => {
  it('ranges of the arena into host arrays through one map; out-of-range refused first', async () => {
    const dev = await createWebGPUDevice();
    try {
      await checkReadStateInto(dev);
    } finally {
      dev.destroy();
    }
  });
});
