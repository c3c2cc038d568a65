import { tf } from '@orthoquant/runtime';
import { clamp, roundHalfEven } from './rounding.js';
import { absPercentile, checkPercentile } from './percentile.js';
import { withSte } from './ste.js';
import type { SteKind } from './ste.js';
import { checkBits, checkShape, checkSte, normaliseAxis } from './validate.js';

/**
 * Where α comes from: `'max'` (α = max|w|, the papers'), a fixed α, `{ percentile: p }`
 * (α = p-th percentile of |w|, inverted CDF), or one fixed α per channel (per-channel only).
 */
export type ScaleChoice = 'max' | number | { percentile: number } | readonly number[] | Float32Array;

export interface UniformOptions {
  /** k in 1..16. */
  bits: number;
  /** Default `'max'`. */
  scale?: ScaleChoice;
  /** Backward pass; default `'identity'` (the papers'). */
  ste?: SteKind;
  /** Per-channel when set: one α per index along this axis (0 = per row of a matrix). */
  axis?: number;
}

interface Resolved {
  bits: number;
  scale: ScaleChoice;
  ste: SteKind;
  axis: number | undefined;
  qmin: number;
  qmax: number;
}

/** Integer range of a symmetric b-bit code: c ∈ [−2^{b−1}, 2^{b−1} − 1]. */
export function uniformRange(bits: number): { qmin: number; qmax: number } {
  checkBits(bits, 'uniformRange', 32);
  return { qmin: -(2 ** (bits - 1)), qmax: 2 ** (bits - 1) - 1 };
}

/** Step of the symmetric quantizer, in float32: Δ = α / 2^{b−1}. */
export function uniformStep(alpha: number, bits: number): number {
  checkBits(bits, 'uniformStep', 32);
  return Math.fround(Math.fround(alpha) / 2 ** (bits - 1));
}

function resolve(options: UniformOptions, where: string, rank: number): Resolved {
  if (options === null || typeof options !== 'object') throw new Error(`${where}: options must be an object with bits, got ${String(options)}`);
  const { bits, scale = 'max', ste = 'identity', axis } = options;
  checkBits(bits, where);
  checkSte(ste, where);
  const ax = axis === undefined ? undefined : normaliseAxis(axis, rank, where);
  checkScale(scale, where, ax !== undefined);
  return { bits, scale, ste, axis: ax, ...uniformRange(bits) };
}

function checkScale(scale: ScaleChoice, where: string, perChannel: boolean): void {
  const bad = () =>
    new Error(
      `${where}: scale must be 'max', a finite number ≥ 0, { percentile: p }${perChannel ? ' or one number ≥ 0 per channel' : ''}, got ${JSON.stringify(scale)}`,
    );
  if (scale === 'max') return;
  if (typeof scale === 'number') {
    if (!(Number.isFinite(scale) && scale >= 0)) throw bad();
    return;
  }
  if (Array.isArray(scale) || scale instanceof Float32Array) {
    if (!perChannel) throw bad();
    const arr = scale as ArrayLike<number>;
    for (let i = 0; i < arr.length; i++) if (!(Number.isFinite(arr[i]) && arr[i] >= 0)) throw bad();
    return;
  }
  if (typeof scale === 'object' && scale !== null && 'percentile' in scale) {
    checkPercentile(scale.percentile, where);
    return;
  }
  throw bad();
}

/** Channel layout of a flat row-major array: element i is in channel ⌊i / inner⌋ mod channels. */
function layout(shape: readonly number[], axis: number | undefined): { channels: number; inner: number } {
  if (axis === undefined) return { channels: 1, inner: shape.reduce((a, b) => a * b, 1) || 1 };
  return { channels: shape[axis], inner: shape.slice(axis + 1).reduce((a, b) => a * b, 1) };
}

function alphasOf(values: ArrayLike<number>, shape: readonly number[], o: Resolved, where: string): Float32Array {
  const { channels, inner } = layout(shape, o.axis);
  const out = new Float32Array(channels);
  const s = o.scale;
  if (typeof s === 'number') return out.fill(s);
  if (Array.isArray(s) || s instanceof Float32Array) {
    const arr = s as ArrayLike<number>;
    if (arr.length !== channels) throw new Error(`${where}: ${arr.length} per-channel scales for ${channels} channels (axis ${o.axis})`);
    for (let c = 0; c < channels; c++) out[c] = arr[c];
    return out;
  }
  if (channels === 1) {
    out[0] = s === 'max' ? absPercentile(values, 100) : absPercentile(values, (s as { percentile: number }).percentile, where);
    return out;
  }
  const groups: number[][] = Array.from({ length: channels }, () => []);
  for (let i = 0; i < values.length; i++) groups[Math.floor(i / inner) % channels].push(values[i]);
  for (let c = 0; c < channels; c++) {
    out[c] = s === 'max' ? absPercentile(groups[c], 100) : absPercentile(groups[c], (s as { percentile: number }).percentile, where);
  }
  return out;
}

/**
 * α used by the uniform quantizer for these values: one per tensor, or one per channel
 * (`options.axis`). `shape` defaults to `[values.length]`.
 */
export function uniformAlpha(values: Float32Array | tf.Tensor, options: UniformOptions, shape?: readonly number[]): Float32Array {
  if (values instanceof tf.Tensor) return uniformAlpha(values.dataSync() as Float32Array, options, values.shape);
  const sh = checkShape(values.length, shape, 'uniformAlpha');
  const o = resolve(options, 'uniformAlpha', sh.length);
  return alphasOf(values, sh, o, 'uniformAlpha');
}

/**
 * Symmetric uniform b-bit quantizer (QORNN / HadamRNN), forward with a straight-through
 * estimator.
 *
 * - α from `options.scale` (default max|w|, per tensor or per channel), Δ = α / 2^{b−1}.
 * - q(w) = Δ · clamp(round(w/Δ), −2^{b−1}, 2^{b−1} − 1), round half to even.
 * - α = 0 gives q(w) = 0 (no NaN).
 * - Backward: identity STE ∂q/∂w = 1; clipped STE ∂q/∂w = 1 where round(w/Δ) is inside
 *   [−2^{b−1}, 2^{b−1} − 1] (the clamp is inactive), 0 elsewhere. α is a constant for the
 *   gradient (no gradient through max|w|).
 */
export function quantizeUniform(w: tf.Tensor, options: UniformOptions): tf.Tensor {
  const o = resolve(options, 'quantizeUniform', w.rank);
  return withSte(w, (x) => {
    const alpha = alphaTensor(x, o);
    const delta = tf.div(alpha, 2 ** (o.bits - 1));
    // Δ = 0 (α = 0): divide by +∞ so that every code is 0 and q(w) = 0, never NaN.
    const safe = tf.where(tf.greater(delta, 0), delta, tf.fill(delta.shape, Infinity));
    const r = tf.round(tf.div(x, safe));
    const c = tf.add(tf.clipByValue(r, o.qmin, o.qmax), 0); // +0, never −0
    const value = tf.mul(c, delta);
    const pass = o.ste === 'clipped' ? tf.logicalAnd(tf.greaterEqual(r, o.qmin), tf.lessEqual(r, o.qmax)) : undefined;
    return { value, pass };
  });
}

function alphaTensor(x: tf.Tensor, o: Resolved): tf.Tensor {
  const keep = x.shape.map((d, i) => (i === o.axis ? d : 1));
  if (o.scale === 'max') {
    const abs = tf.abs(x);
    if (o.axis === undefined) return tf.max(abs);
    const axes = x.shape.map((_, i) => i).filter((i) => i !== o.axis);
    return axes.length ? tf.max(abs, axes, true) : abs;
  }
  if (typeof o.scale === 'number') return tf.scalar(o.scale);
  const alphas = alphasOf(x.dataSync(), x.shape, o, 'quantizeUniform');
  return o.axis === undefined ? tf.scalar(alphas[0]) : tf.tensor(alphas, keep);
}

/**
 * Typed-array twin of {@link quantizeUniform} (forward only), the same float32 arithmetic:
 * results equal the tensor version bit for bit. `shape` is needed for per-channel.
 */
export function quantizeUniformArray(values: Float32Array, options: UniformOptions, shape?: readonly number[]): Float32Array {
  const sh = checkShape(values.length, shape, 'quantizeUniformArray');
  const o = resolve(options, 'quantizeUniformArray', sh.length);
  const alphas = alphasOf(values, sh, o, 'quantizeUniformArray');
  const { channels, inner } = layout(sh, o.axis);
  const deltas = alphas.map((a) => a / 2 ** (o.bits - 1));
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const d = deltas[Math.floor(i / inner) % channels];
    if (d === 0) continue;
    const c = clamp(roundHalfEven(Math.fround(values[i] / d)), o.qmin, o.qmax);
    out[i] = c * d;
  }
  return out;
}
