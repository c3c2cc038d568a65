/**
 * Integer fixed-point primitives (the TFLite / gemmlowp conventions), on JS numbers holding
 * int32 values and using only integer operations: `+ − & | >> <<`, comparisons, and in
 * {@link multiplyHigh} the one exact 64-bit high product (split in 16-bit halves).
 *
 * A real rescale factor r > 0 is a pair (multiplier M, shift e): r ≈ M · 2^(e − 31) with
 * M ∈ [2^30, 2^31) an int32 (Q0.31 in [0.5, 1)) and e an integer (e > 0: left shift first).
 * Applying it: `roundingRightShift(srdhm(x · 2^max(e,0), M), max(−e, 0))`.
 */

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

/** A real multiplier as an int32 Q0.31 mantissa and a power-of-two exponent. */
export interface FixedMultiplier {
  /** In [2^30, 2^31), or 0 for the real multiplier 0. */
  multiplier: number;
  /** r ≈ multiplier · 2^(shift − 31). */
  shift: number;
}

/**
 * Quantize a real multiplier r ≥ 0 to (M, e) with r = M · 2^(e−31) up to half a unit of M.
 * - r = f · 2^e with f ∈ [0.5, 1); M = round(f · 2^31) (half away from zero); M = 2^31 becomes
 *   2^30 with e + 1.
 * - Offline (export time) code: floats are allowed here, never in the loops.
 */
export function quantizeMultiplier(real: number, what = 'multiplier'): FixedMultiplier {
  if (!Number.isFinite(real) || real < 0) throw new Error(`quantizeMultiplier: ${what}: expected a finite number ≥ 0, got ${real}`);
  if (real === 0) return { multiplier: 0, shift: 0 };
  let e = Math.floor(Math.log2(real)) + 1;
  let f = real / 2 ** e;
  // log2 may be off by one near powers of two.
  while (f >= 1) { e++; f = real / 2 ** e; }
  while (f < 0.5) { e--; f = real / 2 ** e; }
  let m = Math.round(f * 2 ** 31);
  if (m === 2 ** 31) { m = 2 ** 30; e++; }
  if (e > 31 || e < -62) throw new Error(`quantizeMultiplier: ${what}: ${real} is outside the representable range 2^-62..2^31`);
  return { multiplier: m, shift: e };
}

/** The real value a {@link FixedMultiplier} stands for. */
export function multiplierValue(m: FixedMultiplier): number {
  return m.multiplier * 2 ** (m.shift - 31);
}

/** Clamp an integer to [lo, hi]. */
export function saturate(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/**
 * Saturating rounding doubling high multiply of two int32: the int32 nearest to a·b / 2^31,
 * ties away from zero (gemmlowp's SaturatingRoundingDoublingHighMul); a = b = −2^31 saturates
 * to 2^31 − 1. The 62-bit product is formed exactly from 16-bit halves of a.
 */
export function srdhm(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  if (a < 4194304 && a > -4194304) {
    // |a·b| < 2^53: the product and the nudged sum are exact doubles; / 2^31 is exact too.
    const p = a * b;
    return Math.trunc((p >= 0 ? p + 1073741824 : p + 1 - 1073741824) / 2147483648) + 0;
  }
  const ah = a >> 16; // signed high half
  const al = a & 0xffff; // unsigned low half: a = ah·2^16 + al
  const p1 = ah * b; // |p1| < 2^46: exact
  const p0 = al * b; // |p0| < 2^47: exact
  // a·b = p1·2^16 + p0 = q·2^31 + (r·2^16 + p0), q = floor(p1 / 2^15), r = p1 mod 2^15.
  const q = Math.floor(p1 / 32768);
  const r = p1 - q * 32768;
  const positive = (a >= 0) === (b >= 0) || a === 0 || b === 0;
  const low = r * 65536 + p0 + (positive ? 1073741824 : 1 - 1073741824);
  // (a·b + nudge) = q·2^31 + low; truncate toward zero.
  const fl = Math.floor(low / 2147483648);
  const total = q + fl;
  const rem = low - fl * 2147483648;
  return total < 0 && rem !== 0 ? total + 1 : total;
}

/** x / 2^s rounded to nearest, ties away from zero (gemmlowp's RoundingDivideByPOT), 0 ≤ s ≤ 31. */
export function roundingRightShift(x: number, s: number): number {
  if (s === 0) return x;
  const m = s === 31 ? 0x7fffffff : (1 << s) - 1;
  const remainder = x & m;
  const threshold = (m >> 1) + (x < 0 ? 1 : 0);
  return (x >> s) + (remainder > threshold ? 1 : 0);
}

/** Left shift with int32 saturation (x · 2^s, clamped). */
export function saturatingLeftShift(x: number, s: number): number {
  if (s === 0) return x;
  const limit = INT32_MAX >> s;
  if (x > limit) return INT32_MAX;
  if (x < -limit - 1) return INT32_MIN;
  return x << s;
}

/** x · r for an int32 x and a quantized real multiplier r (TFLite's MultiplyByQuantizedMultiplier). */
export function multiplyByQuantizedMultiplier(x: number, m: FixedMultiplier): number {
  const left = m.shift > 0 ? m.shift : 0;
  const right = m.shift > 0 ? 0 : -m.shift;
  const hi = srdhm(saturatingLeftShift(x, left), m.multiplier);
  return right > 31 ? 0 : roundingRightShift(hi, right);
}
