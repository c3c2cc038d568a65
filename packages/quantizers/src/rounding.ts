/**
 * Round half to even on a JS number — the rounding of `tf.round` (and of `torch.round` in
 * the reference code), so typed-array code and tensor code land on the same integers.
 *
 * - |x − round(x)| ≤ ½; an exact tie (k + ½) goes to the even neighbour.
 * - The sign of zero is not kept: the result is +0 for every x in [−½, ½] (tfjs backends
 *   disagree on it; our quantizers normalise to +0 everywhere).
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties toward +∞
  if (r - x === 0.5 && r % 2 !== 0) return r - 1 + 0;
  return r + 0; // −0 + 0 = +0
}

/** Clamp to [lo, hi]. */
export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
