/** Singular values of a recurrent matrix, for the per-epoch diagnostics. */
import { extremeEigenvalues } from '@orthoquant/orthogonal';

/**
 * σ_min and σ_max of a square W [n, n] (row-major): square roots of the extreme eigenvalues of
 * WᵀW (Float64; Householder tridiagonalisation + bisection, ~1.5 s at n = 512 in plain JS).
 * Orthogonal W: both 1; a k-bit quantized W: the spread the quantization caused.
 */
export function singularValueRange(w: ArrayLike<number>, n: number): { min: number; max: number } {
  if (w.length !== n * n) throw new Error(`singularValueRange: W has ${w.length} values, expected n² = ${n * n}`);
  const g = new Float64Array(n * n);
  const col = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) col[k] = w[k * n + i];
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += col[k] * w[k * n + j];
      g[i * n + j] = g[j * n + i] = s;
    }
  }
  const { min, max } = extremeEigenvalues(g, n);
  return { min: Math.sqrt(Math.max(min, 0)), max: Math.sqrt(Math.max(max, 0)) };
}
