import { clamp, roundHalfEven } from './rounding.js';
import { checkShape, checkBits } from './validate.js';
import { uniformAlpha, uniformRange } from './uniform.js';
import type { UniformOptions } from './uniform.js';

/** The smallest signed integer array holding b-bit codes. */
export type IntegerArray = Int8Array | Int16Array | Int32Array;

/** Integer codes and how to read them: real = scale · (code − zeroPoint). */
export interface IntegerCodes {
  codes: IntegerArray;
  /** Real value of one code step (Δ = α / 2^{b−1} for the symmetric quantizer); 0 means all zeros. */
  scale: number;
  zeroPoint: number;
  bits: number;
}

export interface IntegerCodeOptions {
  /** 1..32. */
  bits: number;
  /** Step (real value of one code), ≥ 0; 0 maps everything to the zero point. */
  scale: number;
  /** Default 0 (symmetric). */
  zeroPoint?: number;
}

/** Int8Array for b ≤ 8, Int16Array for b ≤ 16, Int32Array otherwise. */
export function integerArrayFor(bits: number, length: number): IntegerArray {
  checkBits(bits, 'integerArrayFor', 32);
  return bits <= 8 ? new Int8Array(length) : bits <= 16 ? new Int16Array(length) : new Int32Array(length);
}

/**
 * Integer codes of float values.
 *
 * - code = clamp(round(fround(v / scale)) + zeroPoint, −2^{b−1}, 2^{b−1} − 1), round half to even:
 *   the integers of `quantizeUniform` (zeroPoint 0, scale Δ) and of `quantizeAffine`.
 * - Stored in the smallest signed array that fits b bits.
 */
export function toIntegerCodes(values: Float32Array, options: IntegerCodeOptions): IntegerCodes {
  const { bits, scale, zeroPoint = 0 } = options ?? ({} as IntegerCodeOptions);
  checkBits(bits, 'toIntegerCodes', 32);
  const { qmin, qmax } = uniformRange(bits);
  if (!(typeof scale === 'number' && Number.isFinite(scale) && scale >= 0)) throw new Error(`toIntegerCodes: scale must be a finite number ≥ 0, got ${String(scale)}`);
  if (!Number.isInteger(zeroPoint) || zeroPoint < qmin || zeroPoint > qmax) {
    throw new Error(`toIntegerCodes: zeroPoint must be an integer in ${qmin}..${qmax}, got ${String(zeroPoint)}`);
  }
  const s = Math.fround(scale);
  const codes = integerArrayFor(bits, values.length);
  for (let i = 0; i < values.length; i++) {
    codes[i] = s === 0 ? zeroPoint : clamp(roundHalfEven(Math.fround(values[i] / s)) + zeroPoint, qmin, qmax);
  }
  return { codes, scale: s, zeroPoint, bits };
}

/** Dequantize: real = fround(scale · (code − zeroPoint)) — equal to the float quantizer's output. */
export function fromIntegerCodes(ic: IntegerCodes): Float32Array {
  const out = new Float32Array(ic.codes.length);
  const s = Math.fround(ic.scale);
  for (let i = 0; i < out.length; i++) out[i] = (ic.codes[i] - ic.zeroPoint) * s + 0;
  return out;
}

/**
 * Integer codes of the symmetric uniform quantizer, per tensor: α from `options.scale`,
 * scale = Δ = α / 2^{b−1}, zeroPoint 0. `fromIntegerCodes` of the result equals
 * `quantizeUniformArray(values, options)` bit for bit.
 */
export function uniformCodes(values: Float32Array, options: UniformOptions, shape?: readonly number[]): IntegerCodes {
  checkShape(values.length, shape, 'uniformCodes');
  if (options?.axis !== undefined) throw new Error('uniformCodes: per-channel (axis) export is not supported; export each channel with its own scale');
  const alpha = uniformAlpha(values, options, shape)[0];
  return toIntegerCodes(values, { bits: options.bits, scale: alpha / 2 ** (options.bits - 1) });
}
