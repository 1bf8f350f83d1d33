// The 'reference' target: the graph interpreter over host typed arrays, the oracle every other
// target is tested against. compile() only: bundles do not ship it, and it renders no code.
import { ReferenceBackend } from '../../targets/reference/backend.js';
import type { CompilerTarget } from './descriptor.js';

export const referenceTarget: CompilerTarget = {
  name: 'reference',
  backends: { reference: async () => new ReferenceBackend() },
};
