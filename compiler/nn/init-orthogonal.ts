// torch.nn.init.orthogonal_ (PyTorch 1.13): a normal matrix drawn as torch draws it, its QR, Q with
// the signs of R's diagonal. torch takes Q from LAPACK's Householder QR; the sign fix makes Q unique
// for a full-rank matrix, so a float64 Householder QR here gives torch's Q up to rounding (within
// ~1e-6, not bit for bit: the factorisation's own order of operations differs).
import { normal as normalValues } from '../random.js';

/** Q of the thin QR of the m×n (m >= n) row-major matrix `a`, each column times sign(R[j][j]) */
function signedQ(a: Float64Array, m: number, n: number): Float64Array {
  const vs: Float64Array[] = [];
  const signs = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let norm = 0;
    for (let i = k; i < m; i++) norm += a[i * n + k] * a[i * n + k];
    norm = Math.sqrt(norm);
    const x0 = a[k * n + k];
    const alpha = x0 > 0 ? -norm : norm; // R[k][k]
    const v = new Float64Array(m - k);
    for (let i = k; i < m; i++) v[i - k] = a[i * n + k];
    v[0] -= alpha;
    let vn = 0;
    for (const e of v) vn += e * e;
    vn = Math.sqrt(vn);
    if (vn > 0) for (let i = 0; i < v.length; i++) v[i] /= vn;
    for (let j = k; j < n; j++) {
      let dot = 0;
      for (let i = k; i < m; i++) dot += v[i - k] * a[i * n + j];
      for (let i = k; i < m; i++) a[i * n + j] -= 2 * v[i - k] * dot;
    }
    vs.push(v);
    signs[k] = Math.sign(alpha);
  }
  // Q = H_0 ... H_{n-1} applied to the first n columns of the identity
  const q = new Float64Array(m * n);
  for (let j = 0; j < n; j++) q[j * n + j] = 1;
  for (let k = n - 1; k >= 0; k--) {
    const v = vs[k];
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let i = k; i < m; i++) dot += v[i - k] * q[i * n + j];
      for (let i = k; i < m; i++) q[i * n + j] -= 2 * v[i - k] * dot;
    }
  }
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) q[i * n + j] *= signs[j];
  return q;
}

/** the values orthogonal_ writes into a tensor of `shape` (rows = shape[0], the rest flattened) */
export function orthogonalValues(shape: readonly number[], gain: number): Float32Array {
  const rows = shape[0];
  const cols = shape.slice(1).reduce((p, d) => p * d, 1);
  const drawn = normalValues(rows * cols, 0, 1); // torch: tensor.new(rows, cols).normal_(0, 1)
  const wide = rows < cols;
  const [m, n] = wide ? [cols, rows] : [rows, cols];
  const a = new Float64Array(m * n);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) a[wide ? c * n + r : r * n + c] = drawn[r * cols + c];
  const q = signedQ(a, m, n);
  const out = new Float32Array(rows * cols);
  const g32 = Math.fround(gain); // tensor.mul_(gain) in float32
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cols + c] = Math.fround(q[wide ? c * n + r : r * n + c]) * g32;
  }
  return out;
}
