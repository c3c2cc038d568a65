import { tf } from '@orthoquant/runtime';
import { clamp, roundHalfEven } from './rounding.js';
import { withSte } from './ste.js';
import type { SteKind } from './ste.js';
import { checkBits, checkSte } from './validate.js';
import { uniformRange } from './uniform.js';

/** Parameters of an asymmetric (affine) b-bit quantizer: real = scale · (code − zeroPoint). */
export interface AffineParams {
  bits: number;
  /** Real value of one code step, > 0. */
  scale: number;
  /** Integer code of the real value 0, in [−2^{b−1}, 2^{b−1} − 1]. */
  zeroPoint: number;
}

export interface AffineOptions extends AffineParams {
  /** Default `'identity'`; `'clipped'` passes gradients where the clamp is inactive. */
  ste?: SteKind;
}

/**
 * Affine parameters covering [min, max] with signed b-bit codes (TFLite / Li & Alvarez int8
 * activations).
 *
 * - The range is first widened to contain 0, so that 0 is exactly representable.
 * - scale = (max − min) / (2^b − 1), zeroPoint = clamp(round(qmin − min/scale), qmin, qmax).
 * - A range of width 0 (all zeros) gives scale 1, zeroPoint 0.
 */
export function affineParams(min: number, max: number, bits: number): AffineParams {
  checkBits(bits, 'affineParams');
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new Error(`affineParams: expected finite min ≤ max, got min ${min}, max ${max}`);
  }
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const { qmin, qmax } = uniformRange(bits);
  if (hi === lo) return { bits, scale: 1, zeroPoint: 0 };
  const scale = Math.fround((hi - lo) / (qmax - qmin));
  const zeroPoint = clamp(roundHalfEven(qmin - lo / scale), qmin, qmax);
  return { bits, scale, zeroPoint };
}

interface ResolvedAffine {
  bits: number;
  scale: number;
  zeroPoint: number;
  ste: SteKind;
  qmin: number;
  qmax: number;
}

export function checkAffine(p: AffineParams & { ste?: SteKind }, where: string): ResolvedAffine {
  if (p === null || typeof p !== 'object') throw new Error(`${where}: options must be an object with bits, scale and zeroPoint, got ${String(p)}`);
  checkBits(p.bits, where);
  const { qmin, qmax } = uniformRange(p.bits);
  if (!(typeof p.scale === 'number' && Number.isFinite(p.scale) && p.scale > 0)) throw new Error(`${where}: scale must be a finite number > 0, got ${String(p.scale)}`);
  if (!Number.isInteger(p.zeroPoint) || p.zeroPoint < qmin || p.zeroPoint > qmax) {
    throw new Error(`${where}: zeroPoint must be an integer in ${qmin}..${qmax}, got ${String(p.zeroPoint)}`);
  }
  const ste = p.ste ?? 'identity';
  checkSte(ste, where);
  return { bits: p.bits, scale: Math.fround(p.scale), zeroPoint: p.zeroPoint, ste, qmin, qmax };
}

/**
 * Asymmetric uniform quantizer with a straight-through estimator.
 *
 * - c = clamp(round(x / s) + z, −2^{b−1}, 2^{b−1} − 1), round half to even.
 * - q(x) = s · (c − z).
 * - Backward: identity STE, or clipped: 1 where round(x/s) + z is inside the code range.
 */
export function quantizeAffine(x: tf.Tensor, options: AffineOptions): tf.Tensor {
  const o = checkAffine(options, 'quantizeAffine');
  return withSte(x, (v) => {
    const shifted = tf.add(tf.round(tf.div(v, o.scale)), o.zeroPoint);
    const c = tf.clipByValue(shifted, o.qmin, o.qmax);
    const value = tf.mul(tf.sub(c, o.zeroPoint), o.scale);
    const pass = o.ste === 'clipped' ? tf.logicalAnd(tf.greaterEqual(shifted, o.qmin), tf.lessEqual(shifted, o.qmax)) : undefined;
    return { value, pass };
  });
}

/** Typed-array twin of {@link quantizeAffine} (forward), equal to it bit for bit. */
export function quantizeAffineArray(values: Float32Array, options: AffineParams): Float32Array {
  const o = checkAffine(options, 'quantizeAffineArray');
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = clamp(roundHalfEven(Math.fround(values[i] / o.scale)) + o.zeroPoint, o.qmin, o.qmax);
    out[i] = (c - o.zeroPoint) * o.scale;
  }
  return out;
}
