/** Summary statistics of repeated timings. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median (mean of the two middle values for an even count). Throws on an empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median: empty list');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(xs: readonly number[]): Summary {
  if (xs.length === 0) throw new RangeError('summarize: empty list');
  for (const x of xs) if (!Number.isFinite(x)) throw new RangeError(`summarize: non-finite value ${x}`);
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/** a / b, or null when either is missing or b is not positive. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || !(b > 0) || !Number.isFinite(a)) return null;
  return a / b;
}
