/**
 * The dense linear algebra tfjs lacks, written for what this package needs:
 * - Float64 JS kernels (row-major): LU with partial pivoting and solve, Gram–Schmidt
 *   orthonormalisation, symmetric Jacobi eigen-decomposition (small matrices), exp of a
 *   small matrix.
 * - Tensor ops with gradients: `solve` (customGrad, LU forward in Float64, adjoint rule
 *   backward), `stopGradient`, `skew`.
 */
import { tf } from '@orthoquant/runtime';
import { withGradient } from './grad.js';

/** Row-major n×n (or n×k) matrix product in Float64: C = A·B, A [n, m], B [m, k]. */
export function matmul64(a: ArrayLike<number>, b: ArrayLike<number>, n: number, m: number, k: number): Float64Array {
  const c = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const ci = i * k;
    for (let p = 0; p < m; p++) {
      const aip = a[i * m + p];
      if (aip === 0) continue;
      const bp = p * k;
      for (let j = 0; j < k; j++) c[ci + j] += aip * b[bp + j];
    }
  }
  return c;
}

/** Row-major transpose of an [r, c] matrix. */
export function transpose64(a: ArrayLike<number>, r: number, c: number): Float64Array {
  const t = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = a[i * c + j];
  return t;
}

export interface LU {
  n: number;
  /** L (unit lower, below the diagonal) and U (upper) packed, row-major. */
  lu: Float64Array;
  /** Row i of the factored matrix is row piv[i] of the original. */
  piv: Int32Array;
}

/** PA = LU with partial pivoting (Float64). Throws on an exactly singular matrix. */
export function luFactor(a: ArrayLike<number>, n: number, who = 'lu'): LU {
  const lu = Float64Array.from(a as ArrayLike<number>);
  const piv = new Int32Array(n);
  for (let i = 0; i < n; i++) piv[i] = i;
  for (let k = 0; k < n; k++) {
    let p = k;
    let best = Math.abs(lu[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(lu[i * n + k]);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    if (best === 0 || !Number.isFinite(best)) throw new Error(`${who}: matrix is singular (zero pivot in column ${k})`);
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = lu[k * n + j];
        lu[k * n + j] = lu[p * n + j];
        lu[p * n + j] = t;
      }
      const t = piv[k];
      piv[k] = piv[p];
      piv[p] = t;
    }
    const inv = 1 / lu[k * n + k];
    for (let i = k + 1; i < n; i++) {
      const l = (lu[i * n + k] *= inv);
      if (l === 0) continue;
      const ri = i * n;
      const rk = k * n;
      for (let j = k + 1; j < n; j++) lu[ri + j] -= l * lu[rk + j];
    }
  }
  return { n, lu, piv };
}

/** X = A⁻¹B for B [n, k] row-major, given A's LU. */
export function luSolve({ n, lu, piv }: LU, b: ArrayLike<number>, k: number): Float64Array {
  const x = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const src = piv[i] * k;
    for (let j = 0; j < k; j++) x[i * k + j] = b[src + j];
  }
  for (let i = 0; i < n; i++) {
    const ri = i * k;
    for (let p = 0; p < i; p++) {
      const l = lu[i * n + p];
      if (l === 0) continue;
      const rp = p * k;
      for (let j = 0; j < k; j++) x[ri + j] -= l * x[rp + j];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * k;
    for (let p = i + 1; p < n; p++) {
      const u = lu[i * n + p];
      if (u === 0) continue;
      const rp = p * k;
      for (let j = 0; j < k; j++) x[ri + j] -= u * x[rp + j];
    }
    const inv = 1 / lu[i * n + i];
    for (let j = 0; j < k; j++) x[ri + j] *= inv;
  }
  return x;
}

function solveData(a: tf.Tensor, b: tf.Tensor, transposeA: boolean): tf.Tensor2D {
  const n = a.shape[0];
  const k = b.shape[1] as number;
  let ad: ArrayLike<number> = a.dataSync();
  if (transposeA) ad = transpose64(ad, n, n);
  const x = luSolve(luFactor(ad, n, 'solve'), b.dataSync(), k);
  return tf.tensor2d(Float32Array.from(x), [n, k]);
}

/**
 * Y = A⁻¹B for a square A [n, n] and B [n, k], differentiable in A and B.
 * - Forward: LU with partial pivoting in Float64 on the host (data is downloaded).
 * - Backward (adjoint rule): dB = A⁻ᵀ dY, dA = −dB Yᵀ.
 */
export function solve(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (a.rank !== 2 || a.shape[0] !== a.shape[1]) throw new Error(`solve: A must be square, got shape [${a.shape.join(', ')}]`);
  if (b.rank !== 2 || b.shape[0] !== a.shape[0]) {
    throw new Error(`solve: B must have ${a.shape[0]} rows, got shape [${b.shape.join(', ')}]`);
  }
  const op = withGradient((aIn: tf.Tensor, bIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = solveData(aIn, bIn, false);
    save([aIn, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [aS, yS] = saved;
        const db = solveData(aS, dy, true);
        const da = tf.neg(tf.matMul(db, tf.transpose(yS)));
        return [da, db];
      },
    };
  });
  return op(a, b) as tf.Tensor2D;
}

/** Identity forward, zero gradient (tfjs has no stop_gradient). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const op = withGradient((input: tf.Tensor, save: tf.GradSaveFunc) => {
    save([]);
    return { value: tf.clone(input), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
  });
  return op(x) as T;
}

/**
 * In-place modified Gram–Schmidt (twice, for stability) on the columns of a row-major
 * [n, k] Float64 matrix. Columns that are (numerically) dependent on earlier ones are
 * dropped. Returns the orthonormal columns as [n, r] row-major and r.
 */
export function orthonormalColumns(a: Float64Array, n: number, k: number): { q: Float64Array; r: number } {
  const cols: Float64Array[] = [];
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
  for (let j = 0; j < k; j++) {
    const v = new Float64Array(n);
    let norm0 = 0;
    for (let i = 0; i < n; i++) {
      v[i] = a[i * k + j];
      norm0 += v[i] * v[i];
    }
    norm0 = Math.sqrt(norm0);
    if (norm0 === 0) continue;
    for (let pass = 0; pass < 2; pass++) {
      for (const q of cols) {
        let d = 0;
        for (let i = 0; i < n; i++) d += q[i] * v[i];
        for (let i = 0; i < n; i++) v[i] -= d * q[i];
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    if (norm <= 1e-10 * Math.max(norm0, scale)) continue;
    for (let i = 0; i < n; i++) v[i] /= norm;
    cols.push(v);
  }
  const r = cols.length;
  const q = new Float64Array(n * r);
  cols.forEach((c, j) => {
    for (let i = 0; i < n; i++) q[i * r + j] = c[i];
  });
  return { q, r };
}

/**
 * Symmetric eigen-decomposition S = V diag(λ) Vᵀ by cyclic Jacobi rotations (Float64;
 * meant for small matrices, O(n³) per sweep). Eigenvalues in descending order; V row-major
 * with eigenvectors as columns.
 */
export function symmetricEigen(s: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(s as ArrayLike<number>);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const x = a[i * n + j] * a[i * n + j];
        total += x;
        if (i !== j) off += x;
      }
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const sn = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - sn * akq;
          a[k * n + q] = sn * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - sn * aqk;
          a[q * n + k] = sn * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - sn * vkq;
          v[k * n + q] = sn * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = a[src * n + src];
    for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src];
  });
  return { values, vectors };
}

/**
 * Smallest and largest eigenvalue of a symmetric matrix (Float64, row-major): Householder
 * reduction to tridiagonal form (O(n³), ~4n³/3 flops), then bisection with Sturm counts on
 * the tridiagonal (O(n) per step) to ~1e-13 relative. Eigenvalues only — much cheaper than
 * `symmetricEigen` for large n.
 */
export function extremeEigenvalues(s: ArrayLike<number>, n: number): { min: number; max: number } {
  const a = Float64Array.from(s as ArrayLike<number>);
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    let norm = 0;
    for (let i = k + 1; i < n; i++) norm += a[i * n + k] * a[i * n + k];
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const x0 = a[(k + 1) * n + k];
    const alpha = x0 > 0 ? -norm : norm;
    let vn = 0;
    for (let i = k + 1; i < n; i++) {
      v[i] = a[i * n + k] - (i === k + 1 ? alpha : 0);
      vn += v[i] * v[i];
    }
    if (vn === 0) continue;
    vn = Math.sqrt(vn);
    for (let i = k + 1; i < n; i++) v[i] /= vn;
    // A ← (I − 2vvᵀ) A (I − 2vvᵀ) on the trailing block: A −= 2(v qᵀ + q vᵀ), q = p − (vᵀp) v, p = A v.
    let kk = 0;
    for (let i = k + 1; i < n; i++) {
      let t = 0;
      for (let j = k + 1; j < n; j++) t += a[i * n + j] * v[j];
      p[i] = t;
      kk += v[i] * t;
    }
    for (let i = k + 1; i < n; i++) p[i] -= kk * v[i];
    for (let i = k + 1; i < n; i++) for (let j = k + 1; j < n; j++) a[i * n + j] -= 2 * (v[i] * p[j] + p[i] * v[j]);
    a[(k + 1) * n + k] = a[k * n + k + 1] = alpha;
    for (let i = k + 2; i < n; i++) a[i * n + k] = a[k * n + i] = 0;
  }
  const d = new Float64Array(n);
  const e2 = new Float64Array(n);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    d[i] = a[i * n + i];
    const left = i > 0 ? Math.abs(a[i * n + i - 1]) : 0;
    const right = i < n - 1 ? Math.abs(a[i * n + i + 1]) : 0;
    if (i > 0) e2[i] = a[i * n + i - 1] * a[i * n + i - 1];
    lo = Math.min(lo, d[i] - left - right);
    hi = Math.max(hi, d[i] + left + right);
  }
  // Number of eigenvalues < x (Sturm sequence of the tridiagonal).
  const below = (x: number): number => {
    let count = 0;
    let q = 1;
    for (let i = 0; i < n; i++) {
      q = d[i] - x - (i > 0 ? e2[i] / q : 0);
      if (q === 0) q = -1e-300;
      if (q < 0) count++;
    }
    return count;
  };
  const bisect = (k: number): number => {
    let l = lo;
    let h = hi;
    for (let it = 0; it < 200 && h - l > 1e-13 * Math.max(1, Math.abs(l), Math.abs(h)); it++) {
      const mid = (l + h) / 2;
      if (below(mid) >= k) h = mid;
      else l = mid;
    }
    return (l + h) / 2;
  };
  return { min: bisect(1), max: bisect(n) };
}

/**
 * exp(X) of a small dense matrix in Float64: scaling and squaring with a degree-18 Taylor
 * polynomial after scaling to ‖X/2^s‖₁ ≤ 1/2 (truncation < 1e-20, far below float64 ε).
 */
export function expm64(x: ArrayLike<number>, n: number): Float64Array {
  let norm = 0;
  for (let j = 0; j < n; j++) {
    let col = 0;
    for (let i = 0; i < n; i++) col += Math.abs(x[i * n + j]);
    norm = Math.max(norm, col);
  }
  const s = norm > 0.5 ? Math.ceil(Math.log2(norm / 0.5)) : 0;
  const xs = Float64Array.from(x as ArrayLike<number>, (v) => v / 2 ** s);
  // Horner: I + X(I + X/2(I + X/3(...))).
  let r: Float64Array = new Float64Array(n * n);
  for (let i = 0; i < n; i++) r[i * n + i] = 1;
  for (let k = 18; k >= 1; k--) {
    const t = matmul64(xs, r, n, n, n);
    for (let i = 0; i < t.length; i++) t[i] /= k;
    for (let i = 0; i < n; i++) t[i * n + i] += 1;
    r = t;
  }
  for (let i = 0; i < s; i++) r = matmul64(r, r, n, n, n);
  return r;
}

/** Skew-symmetric part source: A = L − Lᵀ ('full') or A = triu(L, 1) − triu(L, 1)ᵀ ('upper'). */
export type SkewMode = 'full' | 'upper';

/** A skew-symmetric matrix from a latent square matrix (differentiable). */
export function skew(l: tf.Tensor2D, mode: SkewMode = 'upper'): tf.Tensor2D {
  return tf.tidy(() => {
    let u = l;
    if (mode === 'upper') {
      const n = l.shape[0];
      const mask = tf.sub(tf.linalg.bandPart(tf.ones([n, n]), 0, -1), tf.eye(n)) as tf.Tensor2D;
      u = tf.mul(l, mask);
    }
    return tf.sub(u, tf.transpose(u));
  });
}

/** max_ij |(WᵀW − I)_ij| computed in Float64 on the host. */
export function orthogonalityError(w: tf.Tensor2D | ArrayLike<number>, n?: number): number {
  const data = w instanceof tf.Tensor ? w.dataSync() : w;
  const size = n ?? (w instanceof tf.Tensor ? w.shape[0] : Math.round(Math.sqrt(data.length)));
  const cols = data.length / size;
  let worst = 0;
  for (let i = 0; i < cols; i++) {
    for (let j = i; j < cols; j++) {
      let d = 0;
      for (let k = 0; k < size; k++) d += data[k * cols + i] * data[k * cols + j];
      worst = Math.max(worst, Math.abs(d - (i === j ? 1 : 0)));
    }
  }
  return worst;
}
