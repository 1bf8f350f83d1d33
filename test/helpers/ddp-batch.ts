/** step s's batch of `rows` rows for a 10-feature, 4-class MLP: the same numbers in every process */
export function mlpBatch(s: number, rows: number): [Float32Array, Int32Array] {
  const x = Float32Array.from({ length: rows * 10 }, (_, i) => Math.sin(i * 0.37 + s));
  const y = Int32Array.from({ length: rows }, (_, i) => (i * 7 + s) % 4);
  return [x, y];
}
