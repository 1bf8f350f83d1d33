// sync()'s read-back: every owned tensor in one readStateInto per arena, straight into the host arrays.
import { describe, it } from 'vitest';
import { createNativeDevice } from '../runtime/native/index.js';
import { checkReadStateInto } from './helpers/readback.js';

describe('readStateInto', () => {
  it('native: ranges of the arena into host arrays, out-of-range refused first', async () => {
    await checkReadStateInto(createNativeDevice());
  });
});
