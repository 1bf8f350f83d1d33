// The Tensor DSL, PyTorch's tensor API over the graph IR: the one module the rest of kiln imports
// it from. A Tensor wraps a graph node; ops check shapes and dtypes, insert the explicit broadcasts
// the graph IR wants, and record what autodiff needs. The DSL is layered so that no module imports
// one above it (scripts/check-imports.ts keeps it so):
//   tensor-shape.ts    shape and dtype rules, pure functions of shapes
//   tensor-class.ts    the Tensor class: views, casts, values, and gradient bookkeeping; addMethods
//   tensor-create.ts   factories and `where` (they use only the class's own methods)
//   tensor-grad.ts     composite ops' own backward rules (withVjp)
//   method groups      tensor-arith.ts (elementwise), tensor-elementwise.ts (tanh, sigmoid, clamp),
//                      tensor-reduce.ts, tensor-linalg.ts, tensor-index.ts, tensor-join.ts,
//                      tensor-stats.ts, tensor-mask.ts, tensor-norm.ts, autodiff.ts (backward)
// Each method group declares its methods on the Tensor interface (TypeScript declaration merging)
// and installs them on Tensor.prototype when it loads. This module loads every group before it
// exports the class, so any module that imports Tensor from here gets a complete one. A method
// group may call another group's methods without importing it: a method runs only when called,
// and by then this module has installed them all.
// The graph IR knows the DSL only through the structural VjpTensor its gradient rules use
// (ir/ops.ts), so it imports nothing from here.
import './tensor-arith.js';
import './tensor-elementwise.js';
import './tensor-reduce.js';
import './tensor-linalg.js';
import './tensor-index.js';
import './tensor-join.js';
import './tensor-stats.js';
import './tensor-mask.js';
import './tensor-norm.js';
import './autodiff.js';

export {
  Tensor,
  gradNodes,
  leafTensors,
  noGrad,
  type NestedList,
  type TensorLike,
  type TypedData,
} from './tensor-class.js';
export { broadcastShapes, normDim } from './tensor-shape.js';
export { customVjp, withVjp } from './tensor-grad.js';
export {
  tensor,
  full,
  zeros,
  ones,
  zerosLike,
  onesLike,
  randn,
  rand,
  arange,
  where,
  evalConst,
} from './tensor-create.js';
export { checkIndices, indexSelect, oneHot } from './tensor-index.js';
export { cat, stack } from './tensor-join.js';
export { cumsum } from './tensor-mask.js';
export { norm, type NormOrder } from './tensor-norm.js';
