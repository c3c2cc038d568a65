/** How results read in Markdown: numbers to three significant digits, budgets as "k of N epochs". */
import type { ResultBudget } from './rows.js';

/** 3 significant digits; exponent form below 1e-3 or from 1e5 ("5.70e-4", "0.0208", "98.8"). */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a < 1e-3 || a >= 1e5) return v.toExponential(2);
  return Number(v.toPrecision(3)).toString();
}

/** "epoch 7 of 100 (step 3,500 of 50,000)", "10 of 10 epochs (step 40,000)", "not evaluated yet (step 120 of 40,000)". */
export function budgetText(b: ResultBudget): string {
  const n = (v: number) => v.toLocaleString('en-US');
  const steps = b.totalSteps !== null ? `step ${n(b.evalStep ?? b.steps ?? 0)} of ${n(b.totalSteps)}` : `step ${n(b.evalStep ?? b.steps ?? 0)}`;
  if (b.evalStep === null) return `not evaluated yet (${b.totalSteps !== null ? `step ${n(b.steps ?? 0)} of ${n(b.totalSteps)}` : `step ${n(b.steps ?? 0)}`})`;
  const epochs = b.evalEpochs !== null && b.totalEpochs !== null ? `${b.evalEpochs} of ${b.totalEpochs} epochs` : null;
  return epochs ? `${epochs} (${steps})` : steps;
}

/** "1.25 h", "12 min", "42 s", "—". */
export function hoursText(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds >= 3600) return `${(seconds / 3600).toFixed(2)} h`;
  return seconds >= 60 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds)} s`;
}
