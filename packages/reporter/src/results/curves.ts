/**
 * Per-step curves for `results/`: every evaluated key as recorded, and the training loss —
 * one value per optimizer step, 40k rows a copy-task run — thinned to at most `maxPoints`
 * rows per trial: the loss at every `every`-th step (and the last), plus `loss_mean`, the mean
 * of the `every` steps ending there (no step is left out of the mean).
 */
import { metricCurves, type MetricCurve, type Store } from '@orthoquant/store';
import { PER_STEP_KEYS } from './rows.js';

export interface CurvePoint {
  trial: number;
  key: string;
  step: number;
  value: number | null;
}

export interface Thinning {
  /** Keep the loss at every `every`-th recorded step (1: every step). */
  every: number;
  /** Recorded training steps before thinning. */
  steps: number;
}

/** Points of `curve` at every `every`-th index and the last, with the running mean of each window. */
export function thinCurve(curve: Pick<MetricCurve, 'steps' | 'values'>, every: number): { steps: number[]; values: (number | null)[]; means: (number | null)[] } {
  if (!(Number.isInteger(every) && every >= 1)) throw new Error(`thinCurve: expected an integer every ≥ 1, got ${every}`);
  const out = { steps: [] as number[], values: [] as (number | null)[], means: [] as (number | null)[] };
  let sum = 0;
  let n = 0;
  const n0 = curve.steps.length;
  for (let i = 0; i < n0; i++) {
    const v = curve.values[i];
    if (v !== null && Number.isFinite(v)) {
      sum += v;
      n++;
    }
    if ((i + 1) % every === 0 || i === n0 - 1) {
      out.steps.push(curve.steps[i]);
      out.values.push(v);
      out.means.push(n ? sum / n : null);
      sum = 0;
      n = 0;
    }
  }
  return out;
}

/** The stride that keeps at most `maxPoints` loss points of a curve of `length` steps. */
export function thinningStride(length: number, maxPoints: number): number {
  return Math.max(1, Math.ceil(length / Math.max(1, maxPoints)));
}

/**
 * The curves of some trials: evaluated keys in full, `loss` thinned (see the module comment),
 * the other per-step keys (gradient norm, learning rate, step time) left out.
 */
export function curvePoints(store: Store, trialIds: readonly number[], maxPoints: number): { points: CurvePoint[]; thinning: Map<number, Thinning> } {
  const points: CurvePoint[] = [];
  const thinning = new Map<number, Thinning>();
  for (const c of metricCurves(store, trialIds)) {
    if (c.key === 'loss') {
      const every = thinningStride(c.steps.length, maxPoints);
      thinning.set(c.trialId, { every, steps: c.steps.length });
      const t = thinCurve(c, every);
      t.steps.forEach((step, i) => points.push({ trial: c.trialId, key: 'loss', step, value: t.values[i] }));
      if (every > 1) t.steps.forEach((step, i) => points.push({ trial: c.trialId, key: 'loss_mean', step, value: t.means[i] }));
      continue;
    }
    if ((PER_STEP_KEYS as readonly string[]).includes(c.key)) continue;
    c.steps.forEach((step, i) => points.push({ trial: c.trialId, key: c.key, step, value: c.values[i] }));
  }
  return { points, thinning };
}
