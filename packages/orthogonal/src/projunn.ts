/**
 * projUNN (Kiani, Balestriero, LeCun, Lloyd 2022): rank-k projected updates that keep W
 * exactly orthogonal, in O(n²k) per step instead of O(n³).
 *
 * Given W (orthogonal) and the Euclidean gradient G:
 * 1. G ≈ G_k = P Rᵀ (rank k) by a randomized range finder: Y = GΩ (Ω Gaussian n×(k+p)),
 *    `powerIterations` of Y ← G(GᵀY), Q = orth(Y), B = QᵀG, U_k = top-k eigenvectors of BBᵀ,
 *    P = QU_k, R = BᵀU_k. APPROXIMATED: G_k is the best rank-k approximation of G within
 *    range(Q); exact when rank G ≤ k (e.g. a rank-1 per-example gradient).
 * 2. Both updates act only in S = span(WᵀP, R) (dimension s ≤ 2k, orthonormal basis Q_s):
 *    - projUNN-D: W ← polar(W − ηG_k). With W' = W − ηPRᵀ, W'ᵀW' = I + Q_s M Q_sᵀ, so
 *      (W'ᵀW')^{-1/2} = I + Q_s((I + M)^{-1/2} − I)Q_sᵀ (an s×s eigenproblem).
 *    - projUNN-T: A = skew(WᵀG_k) = Q_s Ã Q_sᵀ, W ← W exp(−ηA) = W + WQ_s(exp(−ηÃ) − I)Q_sᵀ.
 *    EXACT given G_k (no truncation: the s×s problems are solved in Float64).
 * 3. W is kept as a Float64 master copy (the float32 init or an externally assigned value
 *    is first re-orthonormalised by Gram–Schmidt in Float64), so it stays orthogonal to ~1e-15 across steps; the
 *    tf.Variable holds its float32 rounding (‖WᵀW − I‖_max ≲ 1e-6 in float32).
 */
import { tf, createRng } from '@orthoquant/runtime';
import type { Rng } from '@orthoquant/runtime';
import { expm64, matmul64, orthogonalityError, orthonormalColumns, symmetricEigen, transpose64 } from './linalg.js';
import { checkOrder, newVariable } from './init.js';
import { randomOrthogonal } from './projected.js';
import type { OrthogonalParameterization } from './types.js';

export type ProjUnnVariant = 'D' | 'T';

export interface ProjUnnStepOptions {
  variant: ProjUnnVariant;
  /** Rank k of the gradient approximation (default 1). */
  rank?: number;
  learningRate: number;
  /** Extra columns p of the range finder (default 5). */
  oversampling?: number;
  /** Power iterations of the range finder (default 1). */
  powerIterations?: number;
  rng: Rng;
}

/** Columns of an [n, c] row-major matrix [X | Y] side by side. */
function hstack(x: Float64Array, cx: number, y: Float64Array, cy: number, n: number): Float64Array {
  const out = new Float64Array(n * (cx + cy));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < cx; j++) out[i * (cx + cy) + j] = x[i * cx + j];
    for (let j = 0; j < cy; j++) out[i * (cx + cy) + cx + j] = y[i * cy + j];
  }
  return out;
}

/**
 * Rank-k factors G_k = P Rᵀ of an [n, n] gradient by a randomized range finder (Halko,
 * Martinsson, Tropp 2011). Returns P, R as [n, k'] row-major, k' ≤ k (k' < k when G has
 * lower rank).
 */
export function lowRankFactors(g: ArrayLike<number>, n: number, rank: number, rng: Rng, oversampling = 5, powerIterations = 1): { p: Float64Array; r: Float64Array; k: number } {
  const l = Math.min(n, rank + oversampling);
  const omega = new Float64Array(n * l);
  for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();
  const gt = transpose64(g, n, n);
  let { q, r: cols } = orthonormalColumns(matmul64(g, omega, n, n, l), n, l);
  for (let it = 0; it < powerIterations && cols > 0; it++) {
    const z = orthonormalColumns(matmul64(gt, q, n, n, cols), n, cols);
    ({ q, r: cols } = orthonormalColumns(matmul64(g, z.q, n, n, z.r), n, z.r));
  }
  if (cols === 0) return { p: new Float64Array(0), r: new Float64Array(0), k: 0 };
  const b = matmul64(transpose64(q, n, cols), g, cols, n, n); // [cols, n]
  const bbt = matmul64(b, transpose64(b, cols, n), cols, n, cols);
  const { values, vectors } = symmetricEigen(bbt, cols);
  let k = Math.min(rank, cols);
  while (k > 0 && !(values[k - 1] > 1e-24 * Math.max(values[0], 1e-300))) k--;
  const uk = new Float64Array(cols * k);
  for (let i = 0; i < cols; i++) for (let j = 0; j < k; j++) uk[i * k + j] = vectors[i * cols + j];
  const p = matmul64(q, uk, n, cols, k);
  const r = matmul64(transpose64(b, cols, n), uk, n, cols, k);
  return { p, r, k };
}

/**
 * One projUNN step on a Float64 orthogonal W [n, n] (row-major) from the gradient G;
 * returns the new W (see the file header for the math). Pure apart from `rng`.
 */
export function projUnnStep(w: Float64Array, g: ArrayLike<number>, n: number, options: ProjUnnStepOptions): Float64Array {
  const rank = options.rank ?? 1;
  if (!Number.isInteger(rank) || rank < 1 || rank > n) throw new Error(`projUNN: rank must be an integer in [1, ${n}], got ${rank}`);
  const eta = options.learningRate;
  if (!(eta >= 0) || !Number.isFinite(eta)) throw new Error(`projUNN: learning rate must be a finite number >= 0, got ${eta}`);
  for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i])) throw new Error(`projUNN: gradient has a non-finite entry ${g[i]} at index ${i}`);
  const { p, r, k } = lowRankFactors(g, n, rank, options.rng, options.oversampling ?? 5, options.powerIterations ?? 1);
  if (k === 0 || eta === 0) return Float64Array.from(w);
  const wt = transpose64(w, n, n);
  const y = matmul64(wt, p, n, n, k); // WᵀP
  const { q: qs, r: s } = orthonormalColumns(hstack(y, k, r, k, n), n, 2 * k);
  const qst = transpose64(qs, n, s);
  const yt = matmul64(qst, y, s, n, k); // Q_sᵀ WᵀP  [s, k]
  const rt = matmul64(qst, r, s, n, k); // Q_sᵀ R    [s, k]
  const ytRt = matmul64(yt, transpose64(rt, s, k), s, k, s); // Ỹ R̃ᵀ [s, s]
  const wq = matmul64(w, qs, n, n, s); // W Q_s [n, s]
  let core: Float64Array; // C [s, s]: W_new = W' + (W' Q_s) C Q_sᵀ (D) or W + (W Q_s) C Q_sᵀ (T)
  let left: Float64Array; // the [n, s] factor multiplying C
  let base: Float64Array; // W' (D) or W (T)
  if (options.variant === 'D') {
    const ptp = matmul64(transpose64(p, n, k), p, k, n, k);
    const rPtpRt = matmul64(matmul64(rt, ptp, s, k, k), transpose64(rt, s, k), s, k, s);
    const m = new Float64Array(s * s);
    for (let i = 0; i < s; i++)
      for (let j = 0; j < s; j++) m[i * s + j] = (i === j ? 1 : 0) - eta * (ytRt[i * s + j] + ytRt[j * s + i]) + eta * eta * rPtpRt[i * s + j];
    const { values, vectors } = symmetricEigen(m, s);
    if (!(values[s - 1] > 1e-12)) throw new Error(`projUNN-D: W − ηG_k is (numerically) singular (smallest eigenvalue of W'ᵀW' ${values[s - 1]}); lower the learning rate`);
    core = new Float64Array(s * s);
    for (let i = 0; i < s; i++)
      for (let j = 0; j < s; j++) {
        let v = 0;
        for (let e = 0; e < s; e++) v += vectors[i * s + e] * (1 / Math.sqrt(values[e]) - 1) * vectors[j * s + e];
        core[i * s + j] = v;
      }
    base = Float64Array.from(w);
    const prt = matmul64(p, transpose64(r, n, k), n, k, n);
    for (let i = 0; i < base.length; i++) base[i] -= eta * prt[i];
    // W'Q_s = WQ_s − ηP(RᵀQ_s)
    const pRq = matmul64(p, transpose64(rt, s, k), n, k, s);
    left = Float64Array.from(wq, (v, i) => v - eta * pRq[i]);
  } else {
    const a = new Float64Array(s * s);
    for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) a[i * s + j] = (-eta * (ytRt[i * s + j] - ytRt[j * s + i])) / 2;
    core = expm64(a, s);
    for (let i = 0; i < s; i++) core[i * s + i] -= 1;
    base = Float64Array.from(w);
    left = wq;
  }
  const update = matmul64(matmul64(left, core, n, s, s), qst, n, s, n);
  for (let i = 0; i < base.length; i++) base[i] += update[i];
  return base;
}

/** The Float64 orthogonal matrix nearest-ish to a float32 one (Gram–Schmidt of its columns). */
function orthonormalize(w: ArrayLike<number>, n: number): Float64Array {
  const { q, r } = orthonormalColumns(Float64Array.from(w as ArrayLike<number>), n, n);
  const err = orthogonalityError(w, n);
  if (r !== n || err > 1e-3) throw new Error(`projUNN: W must be orthogonal (‖WᵀW − I‖_max = ${err.toExponential(2)})`);
  return q;
}

export interface ProjUnnOptions {
  /** 'D' (polar projection, default) or 'T' (tangent projection + exponential map). */
  variant?: ProjUnnVariant;
  /** Rank k of the gradient approximation (default 1). */
  rank?: number;
  /** Step size η used when `step` is called without one (default 1e-3). */
  learningRate?: number;
  oversampling?: number;
  powerIterations?: number;
  /** Initial W: Haar-random orthogonal (default), identity, or given (must be orthogonal). */
  init?: 'orthogonal' | 'identity' | Float32Array;
  seed?: number | string;
  name?: string;
}

/**
 * projUNN-D / projUNN-T: W itself is the state (`managed.variable`), updated by
 * `managed.step(dL/dW, η)` with a rank-k projected step that keeps it orthogonal. Feed it
 * the raw gradient or an optimizer-preconditioned direction. No latent `variables()`.
 */
export function projUNN(n: number, options: ProjUnnOptions = {}): OrthogonalParameterization {
  checkOrder(n, 'projUNN');
  const variant = options.variant ?? 'D';
  if (variant !== 'D' && variant !== 'T') throw new Error(`projUNN: variant must be 'D' or 'T', got '${String(variant)}'`);
  const init = options.init ?? 'orthogonal';
  let w0: Float32Array;
  if (init instanceof Float32Array) w0 = init;
  else if (init === 'orthogonal') w0 = randomOrthogonal(n, options.seed ?? 0);
  else if (init === 'identity') {
    w0 = new Float32Array(n * n);
    for (let i = 0; i < n; i++) w0[i * n + i] = 1;
  } else throw new Error(`projUNN: init must be 'orthogonal' | 'identity' | Float32Array, got '${String(init)}'`);
  if (w0.length !== n * n) throw new Error(`projUNN: init must have ${n * n} entries, got ${w0.length}`);
  let master = orthonormalize(w0, n);
  // Trainable so that tf.variableGrads accepts it; it is not in variables(), so Adam never sees it.
  const variable = newVariable(Float32Array.from(master), [n, n], options.name);
  const rng = createRng(options.seed ?? 0).fork('projunn/range-finder');
  return {
    kind: `projUNN-${variant}`,
    n,
    tolerance: 1e-5,
    variables: () => [],
    matrix: () => tf.clone(variable) as tf.Tensor2D,
    managed: {
      variable,
      step: (grad: tf.Tensor2D, learningRate?: number) => {
        if (grad.rank !== 2 || grad.shape[0] !== n || grad.shape[1] !== n) throw new Error(`projUNN: gradient must have shape [${n}, ${n}], got [${grad.shape.join(', ')}]`);
        // Someone assigned the variable (e.g. a checkpoint): continue from its value.
        const current = variable.dataSync();
        for (let i = 0; i < current.length; i++) {
          if (current[i] !== Math.fround(master[i])) {
            master = orthonormalize(current, n);
            break;
          }
        }
        master = projUnnStep(master, grad.dataSync(), n, {
          variant,
          rank: options.rank,
          learningRate: learningRate ?? options.learningRate ?? 1e-3,
          oversampling: options.oversampling,
          powerIterations: options.powerIterations,
          rng,
        });
        tf.tidy(() => variable.assign(tf.tensor2d(Float32Array.from(master), [n, n])));
      },
    },
    dispose: () => variable.dispose(),
  };
}
