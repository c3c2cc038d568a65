import { tf } from '@orthoquant/runtime';
import { withSte } from './ste.js';
import type { SteKind } from './ste.js';
import { checkSte } from './validate.js';

export interface SignOptions {
  /** `'identity'` (default, HadamRNN's) or `'clipped'`: gradient only where |x| ≤ 1. */
  ste?: SteKind;
}

/**
 * Binary sign with a straight-through estimator (HadamRNN's `sign(u)`).
 *
 * - Forward: sign(x) ∈ {−1, +1}, with sign(0) = +1 (no zero level: W = diag(sign u)·H/√n
 *   stays orthogonal for every u).
 * - Backward: identity STE ∂/∂x = 1; clipped STE ∂/∂x = 1 for |x| ≤ 1, else 0.
 */
export function signSte(x: tf.Tensor, options: SignOptions = {}): tf.Tensor {
  const ste = options.ste ?? 'identity';
  checkSte(ste, 'signSte');
  return withSte(x, (v) => ({
    value: tf.sub(tf.mul(tf.cast(tf.greaterEqual(v, 0), 'float32'), 2), 1),
    pass: ste === 'clipped' ? tf.lessEqual(tf.abs(v), 1) : undefined,
  }));
}

/** Typed-array twin of {@link signSte}: +1 for x ≥ 0 (and +0, −0), −1 otherwise. */
export function signArray(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] >= 0 ? 1 : -1;
  return out;
}

export interface BinarizeOptions extends SignOptions {
  /**
   * α of q(w) = α·sign(w): a fixed number (default 1) or `'mean'` = mean|w| (XNOR-Net),
   * summed on the host in float64 (one read-back per call).
   */
  scale?: number | 'mean';
}

/**
 * Scaled binary quantizer q(w) = α·sign(w), sign(0) = +1, with the STE of {@link signSte}
 * (the clipped STE passes where |w| ≤ α). α is a constant for the gradient.
 */
export function binarize(w: tf.Tensor, options: BinarizeOptions = {}): tf.Tensor {
  const { scale = 1, ste = 'identity' } = options;
  checkSte(ste, 'binarize');
  checkBinaryScale(scale, 'binarize');
  return withSte(w, (x) => {
    // mean|w| is summed on the host in float64 (one read-back) so the twin matches bit for bit.
    const alpha = tf.scalar(scale === 'mean' ? binaryAlpha(x.dataSync() as Float32Array, options) : scale);
    const sign = tf.sub(tf.mul(tf.cast(tf.greaterEqual(x, 0), 'float32'), 2), 1);
    return { value: tf.mul(sign, alpha), pass: ste === 'clipped' ? tf.lessEqual(tf.abs(x), alpha) : undefined };
  });
}

/** α of {@link binarize} for these values (mean|w| accumulated in float64, then float32). */
export function binaryAlpha(values: Float32Array, options: BinarizeOptions = {}): number {
  const scale = options.scale ?? 1;
  checkBinaryScale(scale, 'binaryAlpha');
  if (scale !== 'mean') return Math.fround(scale);
  let s = 0;
  for (let i = 0; i < values.length; i++) s += Math.abs(values[i]);
  return values.length ? Math.fround(s / values.length) : 0;
}

/** Typed-array twin of {@link binarize}: equal to the tensor form bit for bit. */
export function binarizeArray(values: Float32Array, options: BinarizeOptions = {}): Float32Array {
  const alpha = binaryAlpha(values, options);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] >= 0 ? alpha : -alpha;
  return out;
}

function checkBinaryScale(scale: unknown, where: string): void {
  if (scale !== 'mean' && !(typeof scale === 'number' && Number.isFinite(scale) && scale >= 0)) {
    throw new Error(`${where}: scale must be a finite number ≥ 0 or 'mean', got ${JSON.stringify(scale)}`);
  }
}

export interface TernaryOptions {
  /**
   * Zero band: a fraction r ∈ [0, 1) of max|w| (τ = r·max|w|), or `{ absolute: τ }`, τ ≥ 0.
   * Entries with |w| ≤ τ become 0.
   */
  threshold: number | { absolute: number };
  /**
   * α of the levels {−α, 0, +α}: `'mean'` (default; mean |w| over the entries kept, the
   * least-squares α of ternary weight networks; summed on the host in float64, one
   * read-back per call), `'max'` (max|w|) or a fixed number.
   */
  scale?: 'mean' | 'max' | number;
  /** `'identity'` (default) or `'clipped'`: gradient only where |w| ≤ α. */
  ste?: SteKind;
}

/**
 * Ternary quantizer with a straight-through estimator.
 *
 * - τ from `threshold` (see {@link TernaryOptions}), kept = |w| > τ.
 * - q(w) = α·sign(w) where kept, 0 elsewhere; α from `scale`. No entry kept → all zeros.
 * - With threshold 0.5 and scale `'max'` it is round-to-nearest on the grid {−α, 0, α}.
 * - Backward: identity STE, or clipped (|w| ≤ α). τ and α are constants for the gradient.
 */
export function ternary(w: tf.Tensor, options: TernaryOptions): tf.Tensor {
  const o = resolveTernary(options, 'ternary');
  return withSte(w, (x) => {
    const abs = tf.abs(x);
    const tau = typeof o.threshold === 'number' ? tf.mul(tf.max(abs), o.threshold) : tf.scalar(o.threshold.absolute);
    const kept = tf.greater(abs, tau);
    let alpha: tf.Tensor;
    if (o.scale === 'max') alpha = tf.max(abs);
    // mean over kept entries: summed on the host in float64 so the twin matches bit for bit.
    else if (o.scale === 'mean') alpha = tf.scalar(ternaryParams(x.dataSync() as Float32Array, options).alpha);
    else alpha = tf.scalar(o.scale);
    const signed = tf.mul(tf.sub(tf.mul(tf.cast(tf.greaterEqual(x, 0), 'float32'), 2), 1), alpha);
    return { value: tf.where(kept, signed, tf.zerosLike(x)), pass: o.ste === 'clipped' ? tf.lessEqual(abs, alpha) : undefined };
  });
}

/** τ (absolute) and α of {@link ternary} for these values; α = mean is accumulated in float64. */
export function ternaryParams(values: Float32Array, options: TernaryOptions): { threshold: number; alpha: number } {
  const o = resolveTernary(options, 'ternaryParams');
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]));
  const tau = typeof o.threshold === 'number' ? Math.fround(max * o.threshold) : o.threshold.absolute;
  let alpha: number;
  if (o.scale === 'max') alpha = max;
  else if (o.scale === 'mean') {
    let s = 0;
    let n = 0;
    for (let i = 0; i < values.length; i++) {
      const a = Math.abs(values[i]);
      if (a > tau) {
        s += a;
        n++;
      }
    }
    alpha = Math.fround(s / Math.max(n, 1));
  } else alpha = o.scale;
  return { threshold: tau, alpha };
}

/** Typed-array twin of {@link ternary}: equal to the tensor form bit for bit. */
export function ternaryArray(values: Float32Array, options: TernaryOptions): Float32Array {
  const { threshold, alpha } = ternaryParams(values, options);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Math.abs(v) > threshold) out[i] = v >= 0 ? alpha : -alpha;
  }
  return out;
}

interface ResolvedTernary {
  threshold: number | { absolute: number };
  scale: 'mean' | 'max' | number;
  ste: SteKind;
}

function resolveTernary(options: TernaryOptions, where: string): ResolvedTernary {
  if (options === null || typeof options !== 'object') throw new Error(`${where}: options must be an object with threshold, got ${String(options)}`);
  const { threshold, scale = 'mean', ste = 'identity' } = options;
  checkSte(ste, where);
  if (typeof threshold === 'number') {
    if (!(threshold >= 0 && threshold < 1)) throw new Error(`${where}: threshold must be a fraction of max|w| in [0, 1) or { absolute: τ ≥ 0 }, got ${JSON.stringify(threshold)}`);
  } else if (!(threshold && typeof threshold === 'object' && typeof threshold.absolute === 'number' && Number.isFinite(threshold.absolute) && threshold.absolute >= 0)) {
    throw new Error(`${where}: threshold must be a fraction of max|w| in [0, 1) or { absolute: τ ≥ 0 }, got ${JSON.stringify(threshold)}`);
  }
  if (scale !== 'mean' && scale !== 'max' && !(typeof scale === 'number' && Number.isFinite(scale) && scale >= 0)) {
    throw new Error(`${where}: scale must be 'mean', 'max' or a finite number ≥ 0, got ${JSON.stringify(scale)}`);
  }
  const thr = typeof threshold === 'number' ? Math.fround(threshold) : { absolute: Math.fround(threshold.absolute) };
  return { threshold: thr, scale: typeof scale === 'number' ? Math.fround(scale) : scale, ste };
}
