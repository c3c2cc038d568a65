/**
 * Projections onto (or towards) the orthogonal group, as differentiable tfjs ops:
 * spectral normalisation, Björck orthogonalisation, polar factor (Newton–Schulz).
 */
import { tf, createRng } from '@orthoquant/runtime';
import { stopGradient } from './linalg.js';

export interface SpectralNormalizeOptions {
  /** Power iterations (default 10; 1–2 suffice with a persistent `state`). */
  iterations?: number;
  /**
   * Persistent left singular vector estimate [n, 1] (a non-trainable tf.Variable): the power
   * iteration starts from it and writes its result back (warm start across training steps).
   */
  state?: tf.Variable;
  /** Seed of the random start vector when no `state` is given (default 0). */
  seed?: number;
}

function normalizeColumn(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.maximum(tf.norm(x), 1e-30));
}

/** A start vector for the power iteration: seeded N(0, 1) entries, normalised, [n, 1]. */
export function powerIterationStart(n: number, seed = 0): tf.Tensor2D {
  const v = createRng(seed).fork('spectral/u').normalArray(n);
  return tf.tidy(() => normalizeColumn(tf.tensor2d(v, [n, 1])));
}

/**
 * W / σ̂ with σ̂ ≈ σ_max(W) by power iteration.
 * - v ← Wᵀu/‖Wᵀu‖, u ← Wv/‖Wv‖ (`iterations` times), σ̂ = uᵀWv ≤ σ_max.
 * - Gradient: flows through σ̂ = uᵀWv with u, v held constant (Miyato et al. 2018), which is
 *   the exact derivative of σ_max at convergence.
 */
export function spectralNormalize(w: tf.Tensor2D, options: SpectralNormalizeOptions = {}): tf.Tensor2D {
  if (w.rank !== 2) throw new Error(`spectralNormalize: expected a matrix, got rank ${w.rank}`);
  const iterations = options.iterations ?? 10;
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`spectralNormalize: iterations must be an integer >= 1, got ${iterations}`);
  const [rows, cols] = w.shape;
  if (options.state && (options.state.shape[0] !== rows || options.state.shape[1] !== 1)) {
    throw new Error(`spectralNormalize: state must have shape [${rows}, 1], got [${options.state.shape.join(', ')}]`);
  }
  return tf.tidy(() => {
    const wc = stopGradient(w);
    let u: tf.Tensor2D = options.state ? tf.clone(options.state as unknown as tf.Tensor2D) : powerIterationStart(rows, options.seed);
    let v: tf.Tensor2D = tf.zeros([cols, 1]);
    for (let i = 0; i < iterations; i++) {
      v = normalizeColumn(tf.matMul(wc, u, true, false));
      u = normalizeColumn(tf.matMul(wc, v));
    }
    if (options.state) options.state.assign(u);
    const sigma = tf.sum(tf.mul(u, tf.matMul(w, v)));
    return tf.div(w, sigma) as tf.Tensor2D;
  });
}

export interface BjorckOptions {
  /** Step β of W ← (1 + β)W − β W WᵀW (default 0.5). */
  beta?: number;
  /** Stop when max_ij |W_{k+1} − W_k| < tol (default 1e-3); 0 runs exactly `maxIterations`. */
  tol?: number;
  /** Iteration cap (default 15). */
  maxIterations?: number;
}

/** Reports how many iterations the last call took (for logs and tests). */
export interface IterationReport {
  iterations: number;
  change: number;
}

function newtonSchulz(w: tf.Tensor2D, beta: number, tol: number, maxIterations: number, who: string, report?: IterationReport): tf.Tensor2D {
  if (!(beta > 0)) throw new Error(`${who}: beta must be > 0, got ${beta}`);
  if (!Number.isInteger(maxIterations) || maxIterations < 1) throw new Error(`${who}: maxIterations must be an integer >= 1, got ${maxIterations}`);
  if (!(tol >= 0)) throw new Error(`${who}: tol must be >= 0, got ${tol}`);
  return tf.tidy(() => {
    let x = w;
    let k = 0;
    let change = Number.NaN;
    while (k < maxIterations) {
      const xtx = tf.matMul(tf.transpose(x), x);
      const next = tf.sub(tf.mul(x, 1 + beta), tf.mul(tf.matMul(x, xtx), beta)) as tf.Tensor2D;
      k++;
      if (tol > 0) {
        change = tf.tidy(() => tf.max(tf.abs(tf.sub(next, x)))).dataSync()[0];
        x = next;
        if (!Number.isFinite(change)) throw new Error(`${who}: iteration diverged (non-finite change at iteration ${k})`);
        if (change < tol) break;
      } else {
        x = next;
      }
    }
    if (report) {
      report.iterations = k;
      report.change = change;
    }
    return x === w ? tf.clone(w) : x;
  });
}

/**
 * Björck orthogonalisation (Björck & Bowie 1971), differentiable through the iterations.
 * - W ← (1 + β)W − β W WᵀW, β = 0.5 by default (= Newton–Schulz for the polar factor).
 * - Converges to the polar factor when all singular values lie in (0, √3) for β = ½, so
 *   normalise first (`spectralNormalize`), as QORNN's STE-Björck does.
 * - Stops when the largest entry change is < tol (1e-3) or after maxIterations (15).
 */
export function bjorckOrthogonalize(w: tf.Tensor2D, options: BjorckOptions & { report?: IterationReport } = {}): tf.Tensor2D {
  if (w.rank !== 2) throw new Error(`bjorck: expected a matrix, got rank ${w.rank}`);
  return newtonSchulz(w, options.beta ?? 0.5, options.tol ?? 1e-3, options.maxIterations ?? 15, 'bjorck', options.report);
}

export interface PolarOptions {
  /** Stop when the largest entry change is < tol (default 1e-6). */
  tol?: number;
  /** Iteration cap (default 60). */
  maxIterations?: number;
  /** Power iterations for the initial scaling (default 10). */
  powerIterations?: number;
}

/**
 * Orthogonal polar factor Q of W = QP (the nearest orthogonal matrix in Frobenius norm),
 * differentiable through the iterations.
 * - Scale by 1/σ̂ (power iteration), then Newton–Schulz X ← ½X(3I − XᵀX) to float32
 *   convergence (tol 1e-6, ≤ 60 iterations). Quadratic once near orthogonal; a matrix with
 *   condition number κ needs ≈ log_{1.5} κ extra iterations, so it suits near-orthogonal W
 *   (projection after an update), not arbitrary ones.
 */
export function polarFactor(w: tf.Tensor2D, options: PolarOptions & { report?: IterationReport } = {}): tf.Tensor2D {
  if (w.rank !== 2 || w.shape[0] !== w.shape[1]) throw new Error(`polar: expected a square matrix, got shape [${w.shape.join(', ')}]`);
  return tf.tidy(() => {
    const scaled = spectralNormalize(w, { iterations: options.powerIterations ?? 10 });
    return newtonSchulz(scaled, 0.5, options.tol ?? 1e-6, options.maxIterations ?? 60, 'polar', options.report);
  });
}
