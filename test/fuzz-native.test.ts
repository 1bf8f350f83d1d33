// A few hundred fuzz cases on 'native' against the reference, with a fresh seed each run.
import { fuzzSuite } from './fuzz/suite.js';

fuzzSuite('native', 200, 200);
