/**
 * Percentile of |x| by the inverted CDF: the smallest observed |x_i| such that at least
 * p % of the values are ≤ it (numpy's `method='inverted_cdf'`). p in (0, 100]; p = 100 is
 * max|x|. Returns 0 for an empty array.
 */
export function absPercentile(values: ArrayLike<number>, p: number, where = 'absPercentile'): number {
  checkPercentile(p, where);
  const n = values.length;
  if (n === 0) return 0;
  const abs = new Float64Array(n);
  for (let i = 0; i < n; i++) abs[i] = Math.abs(values[i]);
  if (p === 100) return abs.reduce((m, v) => (v > m ? v : m), 0);
  abs.sort();
  return abs[rankOf(p, n) - 1];
}

/** 1-based rank of the p-th percentile among n values (inverted CDF). */
export function rankOf(p: number, n: number): number {
  // p·n/100 in floating point can land a hair above an integer (e.g. 0.07·100); snap.
  const exact = (p * n) / 100;
  const near = Math.round(exact);
  const k = Math.abs(exact - near) < 1e-9 * Math.max(1, exact) ? near : Math.ceil(exact);
  return Math.min(n, Math.max(1, k));
}

export function checkPercentile(p: number, where: string): void {
  if (typeof p !== 'number' || !(p > 0 && p <= 100)) {
    throw new Error(`${where}: percentile must be a number in (0, 100], got ${String(p)}`);
  }
}
