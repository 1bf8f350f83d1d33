// Fuzz cases on 'webgpu' (Dawn on llvmpipe) against the reference, with a fresh seed each run
// (fewer than native: every pipeline is compiled by llvmpipe, ~1 s per batch here).
import { fuzzSuite } from './fuzz/suite.js';

fuzzSuite('webgpu', 60, 14);
