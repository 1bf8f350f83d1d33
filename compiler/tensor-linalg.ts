// Matrix products as PyTorch's matmul defines them (1-D operands, broadcast batch dims), built
// from views, one multiply and one sum over k: no matmul op, one reduction the scheduler fuses.
// A method group: tensor.ts loads it (see tensor-class.ts's addMethods).
import { addMethods, type Tensor } from './tensor-class.js';
import { KilnError, fmtShape } from './errors.js';
import { broadcastShapes } from './tensor-shape.js';

function matmulImpl(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new KilnError(
      'matmul: both arguments to matmul need to be at least 1D, ' +
        `but they are ${a.ndim}D ${fmtShape(a.shape)} and ${b.ndim}D ${fmtShape(b.shape)}`,
    );
  }
  if (a.dtype !== b.dtype || a.dtype === 'bool') {
    throw new KilnError(
      'matmul: expected both arguments to have the same numeric dtype, ' +
        `but got ${a.dtype}${fmtShape(a.shape)} and ${b.dtype}${fmtShape(b.shape)}`,
    );
  }
  const a2 = a.ndim === 1 ? a.reshape([1, a.shape[0]]) : a;
  const b2 = b.ndim === 1 ? b.reshape([b.shape[0], 1]) : b;
  const [m, k] = a2.shape.slice(-2),
    [k2, n] = b2.shape.slice(-2);
  if (k !== k2) {
    throw new KilnError(
      'matmul: mat1 and mat2 shapes cannot be multiplied ' +
        `(${a2.shape.slice(0, -1).reduce((x, y) => x * y, 1)}x${k} and ${k2}x${n}); ` +
        `shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
    );
  }
  const batch = broadcastShapes('matmul', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  // [..., m, k, 1] * [..., 1, k, n] summed over k: no matmul op, one reduce the scheduler knows
  const x = a2.reshape([...a2.shape.slice(0, -2), m, k, 1]).expand([...batch, m, k, n]);
  const y = b2.reshape([...b2.shape.slice(0, -2), 1, k, n]).expand([...batch, m, k, n]);
  let r = x.mul(y).sum(-2);
  if (a.ndim === 1) r = r.squeeze(-2);
  if (b.ndim === 1) r = r.squeeze(-1);
  return r;
}

const linalg = {
  matmul(this: Tensor, other: Tensor): Tensor {
    return matmulImpl(this, other);
  },
  mm(this: Tensor, other: Tensor): Tensor {
    return matmulImpl(this, other);
  },
};

type Linalg = typeof linalg;
declare module './tensor-class.js' {
  interface Tensor extends Linalg {}
}
addMethods(linalg);
