/**
 * The fixed-point primitives of `fixed-point.ts` re-derived on Float64 values with real
 * arithmetic only (division by powers of two, `Math.floor`, `Math.trunc`, comparisons — no
 * bitwise operators): the float simulation that the integer engines must match bit for bit.
 * Every value is an integer held exactly in a double (|x| < 2^53 at every step).
 */
import type { FixedMultiplier } from './fixed-point.js';

const TWO31 = 2147483648;
const MIN = -TWO31;
const MAX = TWO31 - 1;

/** Clamp to [lo, hi]. */
export function clampF64(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x)) + 0;
}

/** x / 2^s rounded half away from zero. */
export function roundShiftF64(x: number, s: number): number {
  if (s === 0) return x;
  const q = Math.abs(x) / 2 ** s; // exact: a power-of-two scaling of an integer < 2^53
  const r = Math.floor(q + 0.5); // q + 0.5 is exact too (q has at most s fractional bits, s ≤ 62)
  return (x < 0 ? -r : r) + 0; // + 0: no negative zero
}

/** The integer nearest to a·b / 2^31, ties away from zero; (−2^31)² saturates. */
export function srdhmF64(a: number, b: number): number {
  if (a === MIN && b === MIN) return MAX;
  // a = hi·2^16 + lo with lo ∈ [0, 2^16): both partial products are exact doubles.
  const hi = Math.floor(a / 65536);
  const lo = a - hi * 65536;
  const ph = hi * b;
  const pl = lo * b;
  // a·b = ph·2^16 + pl; split ph = qh·2^15 + rh so that a·b = qh·2^31 + (rh·2^16 + pl).
  const qh = Math.floor(ph / 32768);
  const rest = (ph - qh * 32768) * 65536 + pl;
  const negative = a * b < 0; // sign only; the magnitude may round but not cross zero
  const nudged = rest + (negative ? 1 - 2 ** 30 : 2 ** 30);
  const whole = qh + Math.floor(nudged / TWO31);
  const frac = nudged - Math.floor(nudged / TWO31) * TWO31;
  return (whole < 0 && frac !== 0 ? whole + 1 : whole) + 0; // truncation toward zero
}

/** x · r for a quantized real multiplier r (see `multiplyByQuantizedMultiplier`). */
export function mulQuantizedF64(x: number, m: FixedMultiplier): number {
  const left = Math.max(m.shift, 0);
  const right = Math.max(-m.shift, 0);
  const shifted = clampF64(x * 2 ** left, MIN, MAX);
  const hi = srdhmF64(shifted, m.multiplier);
  return right > 31 ? 0 : roundShiftF64(hi, right);
}
