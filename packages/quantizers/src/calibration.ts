import { tf, assertFinite } from '@orthoquant/runtime';
import { checkPercentile, rankOf } from './percentile.js';
import { affineParams } from './affine.js';
import type { AffineParams } from './affine.js';
import { checkBits } from './validate.js';

/** Which statistic of |x| sets the clipping range. */
export type CalibrationStatistic = 'max' | { percentile: number };

export interface CalibratorOptions {
  /** Histogram bins over |x| (a power of two ≥ 16; default 2048). */
  bins?: number;
}

/**
 * Streaming activation statistics for post-training quantization (QORNN's PTQ of h and x).
 *
 * - `observe()` batches (Float32Array, number arrays or tensors); memory is O(bins).
 * - Exact running min, max, max|x| and count.
 * - Percentiles of |x| from a fixed-bin histogram over [0, R), R the smallest power of two
 *   ≥ max|x| seen so far; when max|x| grows past R, R doubles and adjacent bin pairs merge
 *   (exact, since bins split R in powers of two). The p-th percentile (inverted CDF) is
 *   reported as the upper edge of its bin, capped at max|x|:
 *   true ≤ reported ≤ true + R/bins, with R < 2·max|x| (≤ 0.1 % of max|x| at 2048 bins).
 * - `powerOfTwoRange(stat)` = smallest 2^e ≥ stat (QORNN's clipping range).
 */
export class ActivationCalibrator {
  readonly bins: number;
  private hist: Float64Array;
  private range = 0;
  private n = 0;
  private lo = Infinity;
  private hi = -Infinity;
  private maxAbsValue = 0;

  constructor(options: CalibratorOptions = {}) {
    const bins = options.bins ?? 2048;
    if (!Number.isInteger(bins) || bins < 16 || (bins & (bins - 1)) !== 0 || bins > 2 ** 24) {
      throw new Error(`calibrator: bins must be a power of two in 16..2^24, got ${String(bins)}`);
    }
    this.bins = bins;
    this.hist = new Float64Array(bins);
  }

  /** Number of values observed. */
  get count(): number {
    return this.n;
  }
  get min(): number {
    return this.n ? this.lo : NaN;
  }
  get max(): number {
    return this.n ? this.hi : NaN;
  }
  get maxAbs(): number {
    return this.maxAbsValue;
  }
  /** Current histogram range R (0 while every value seen is 0); bin width is R / bins. */
  get histogramRange(): number {
    return this.range;
  }

  /** Add a batch of values; a tensor is read back (not disposed). Non-finite values are refused. */
  observe(values: ArrayLike<number> | tf.Tensor): this {
    const v = values instanceof tf.Tensor ? values.dataSync() : values;
    assertFinite(v, 'calibrator.observe');
    let batchMax = 0;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x < this.lo) this.lo = x;
      if (x > this.hi) this.hi = x;
      const a = Math.abs(x);
      if (a > batchMax) batchMax = a;
    }
    if (batchMax > this.range) this.grow(batchMax);
    if (batchMax > this.maxAbsValue) this.maxAbsValue = batchMax;
    const perUnit = this.range > 0 ? this.bins / this.range : 0;
    const last = this.bins - 1;
    for (let i = 0; i < v.length; i++) {
      const k = Math.floor(Math.abs(v[i]) * perUnit);
      this.hist[k > last ? last : k]++;
    }
    this.n += v.length;
    return this;
  }

  private grow(target: number): void {
    if (this.range === 0) {
      // Everything seen so far is 0 and sits in bin 0, whatever the range.
      this.range = nextPowerOfTwo(target);
      return;
    }
    while (this.range < target) {
      const h = this.hist;
      for (let i = 0; i < this.bins / 2; i++) h[i] = h[2 * i] + h[2 * i + 1];
      h.fill(0, this.bins / 2);
      this.range *= 2;
    }
  }

  /** p-th percentile of |x| (inverted CDF), an upper estimate within one bin width. */
  percentile(p: number): number {
    checkPercentile(p, 'calibrator.percentile');
    this.requireData('percentile');
    if (p === 100 || this.range === 0) return this.maxAbsValue;
    const rank = rankOf(p, this.n);
    let cum = 0;
    for (let k = 0; k < this.bins; k++) {
      cum += this.hist[k];
      if (cum >= rank) return Math.min(((k + 1) * this.range) / this.bins, this.maxAbsValue);
    }
    return this.maxAbsValue;
  }

  /** max|x| or a percentile of |x|. */
  statistic(stat: CalibrationStatistic = 'max'): number {
    if (stat === 'max') {
      this.requireData('statistic');
      return this.maxAbsValue;
    }
    if (stat && typeof stat === 'object' && 'percentile' in stat) return this.percentile(stat.percentile);
    throw new Error(`calibrator.statistic: expected 'max' or { percentile: p }, got ${JSON.stringify(stat)}`);
  }

  /** Smallest 2^e ≥ the statistic (0 when every value observed is 0). */
  powerOfTwoRange(stat: CalibrationStatistic = 'max'): number {
    return nextPowerOfTwo(this.statistic(stat));
  }

  /**
   * Symmetric b_a-bit activation quantizer: α = powerOfTwoRange(stat), step Δ = α / 2^{b−1}
   * (a power of two too, so integer rescales are shifts). Use `{ bits, scale: alpha }` as
   * `UniformOptions`.
   */
  symmetricScale(bits: number, stat: CalibrationStatistic = 'max'): { bits: number; alpha: number; step: number } {
    checkBits(bits, 'calibrator.symmetricScale');
    const alpha = this.powerOfTwoRange(stat);
    return { bits, alpha, step: alpha / 2 ** (bits - 1) };
  }

  /** Affine (asymmetric) parameters from the observed [min, max] (Li & Alvarez int8 inputs). */
  affineParams(bits = 8): AffineParams {
    this.requireData('affineParams');
    return affineParams(this.lo, this.hi, bits);
  }

  private requireData(what: string): void {
    if (this.n === 0) throw new Error(`calibrator.${what}: no values observed yet`);
  }
}

/** Create an {@link ActivationCalibrator}. */
export function createCalibrator(options: CalibratorOptions = {}): ActivationCalibrator {
  return new ActivationCalibrator(options);
}

/** Smallest 2^e ≥ v for v > 0 (e may be negative); 0 for v = 0. */
export function nextPowerOfTwo(v: number): number {
  if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`nextPowerOfTwo: expected a finite number ≥ 0, got ${v}`);
  if (v === 0) return 0;
  let e = Math.ceil(Math.log2(v));
  if (2 ** (e - 1) >= v) e--;
  if (2 ** e < v) e++;
  return 2 ** e;
}
