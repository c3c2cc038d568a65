/**
 * One row per trial of a sweep, for `results/` and REPRODUCTION.md: its config, how far it
 * got (steps and epochs of its budget), its numbers, where and how long it ran.
 *
 * - A done trial's numbers are its summary's final values (what tables read).
 * - A trial still running, interrupted or failed reports its latest evaluation: every
 *   evaluated key (`val_*`, `test_*`, `train_loss`, diagnostics) at the last step that has a
 *   `val_*` or `test_*` value, with that step and epoch — "test accuracy 0.91 at epoch 7 of 100".
 */
import { getTrial, listTrials, metricCurves, type Store, type TrialDetail } from '@orthoquant/store';

/** Keys the trainer records at every step (curves, not results). */
export const PER_STEP_KEYS = ['loss', 'grad_norm', 'lr', 'step_seconds'] as const;

/** What the caller knows of a trial config that only the task can tell (the CLI asks the task). */
export interface TrialPlan {
  /** Optimizer steps per epoch (train batches). */
  stepsPerEpoch: number | null;
  /** The task's memoryless baseline loss (copy task: K·ln 8 / L), if it has one. */
  memorylessLoss: number | null;
}

export interface ResultBudget {
  /** Last training step recorded. */
  steps: number | null;
  /** Steps of the whole budget (epochs × steps per epoch, capped by budget.steps). */
  totalSteps: number | null;
  stepsPerEpoch: number | null;
  /** Step of the numbers in `metrics` (the final evaluation, or the latest one). */
  evalStep: number | null;
  /** Epochs completed when `metrics` were measured. */
  evalEpochs: number | null;
  /** budget.epochs of the config. */
  totalEpochs: number | null;
  /** The whole budget was trained and evaluated (a done trial). */
  complete: boolean;
}

export interface ResultRow {
  sweep: string;
  trial: number;
  hash: string;
  status: string;
  /** The configuration without its seed, in words (series and table labels). */
  label: string;
  seed: number | null;
  config: Record<string, unknown>;
  budget: ResultBudget;
  /** 'summary' (done), 'latest evaluation' (unfinished), 'checkpoint evaluation' (computed from a checkpoint, e.g. integer-only inference). */
  metricsSource: 'summary' | 'latest evaluation' | 'checkpoint evaluation' | 'none';
  metrics: Record<string, number>;
  /** Training wall time (s): the trainer's own count when done, else the sum of step and evaluation times. */
  wallSeconds: number | null;
  wallSource: 'trainer' | 'step and eval times' | null;
  provenance: { host: string | null; gitCommit: string | null; gitDirty: boolean | null; nodeVersion: string | null; backend: string | null; kernel: string | null } | null;
  error: string | null;
}

const TEST_KEY = /^test_/;
const VAL_KEY = /^val_/;

/** "hadamrnn n=128 4-bit" — model type, width and bits; the keys that tell the sweep's configs apart are added by `labelTrials`. */
export function modelLabel(config: Record<string, unknown>): string {
  const m = (config.model ?? {}) as Record<string, unknown>;
  const parts = [String(m.type ?? 'model')];
  if (typeof m.blockSize === 'number') parts.push(`block ${m.blockSize}`);
  if (typeof m.hidden === 'number') parts.push(`n=${m.hidden}`);
  if (typeof m.bits === 'number') parts.push(`${m.bits}-bit`);
  if (config.mode === 'ptq') parts.push('PTQ');
  return parts.join(' ');
}

function flatten(obj: unknown, prefix: string, out: Map<string, string>): void {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, JSON.stringify(obj));
}

/**
 * Labels of configs that differ only by seed are equal; when two different configs would get
 * the same `modelLabel`, the config keys that differ between them are appended.
 */
export function labelTrials(configs: readonly Record<string, unknown>[]): string[] {
  const flat = configs.map((c) => {
    const m = new Map<string, string>();
    flatten(c, '', m);
    for (const k of [...m.keys()]) if (k === 'seed' || k.endsWith('.seed') || k.endsWith('Seed')) m.delete(k);
    return m;
  });
  const base = configs.map(modelLabel);
  return configs.map((_, i) => {
    const clash = configs.map((__, j) => j).filter((j) => base[j] === base[i] && [...flat[j]].some(([k, v]) => flat[i].get(k) !== v));
    if (clash.length === 0) return base[i];
    const keys = [...new Set(clash.flatMap((j) => [...flat[j].keys(), ...flat[i].keys()].filter((k) => flat[j].get(k) !== flat[i].get(k))))].sort();
    return `${base[i]} (${keys.map((k) => `${k}=${flat[i].get(k) ?? '—'}`).join(', ')})`;
  });
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Steps of the budget: epochs × steps per epoch, capped by budget.steps. */
function totalStepsOf(config: Record<string, unknown>, stepsPerEpoch: number | null): number | null {
  const b = (config.budget ?? {}) as Record<string, unknown>;
  const epochs = num(b.epochs) ?? 1;
  const cap = num(b.steps);
  if (stepsPerEpoch === null) return cap;
  return cap === null ? epochs * stepsPerEpoch : Math.min(cap, epochs * stepsPerEpoch);
}

/** The result rows of a sweep's active trials, in expansion order. */
export function resultRows(store: Store, sweep: string, planOf: (config: Record<string, unknown>) => TrialPlan = () => ({ stepsPerEpoch: null, memorylessLoss: null })): ResultRow[] {
  const trials = listTrials(store, { sweep });
  const labels = labelTrials(trials.map((t) => t.config));
  return trials.map((t, i) => {
    const detail = getTrial(store, t.id);
    const plan = planOf(t.config);
    const b = (t.config.budget ?? {}) as Record<string, unknown>;
    const row: ResultRow = {
      sweep,
      trial: t.id,
      hash: t.hash,
      status: t.status,
      label: labels[i],
      seed: num(t.config.seed),
      config: t.config,
      budget: { steps: null, totalSteps: totalStepsOf(t.config, plan.stepsPerEpoch), stepsPerEpoch: plan.stepsPerEpoch, evalStep: null, evalEpochs: null, totalEpochs: num(b.epochs) ?? 1, complete: false },
      metricsSource: 'none',
      metrics: {},
      wallSeconds: null,
      wallSource: null,
      provenance: provenanceOf(detail),
      error: t.error,
    };
    if (t.status === 'done') {
      for (const [k, v] of Object.entries(t.summary)) if (v.final !== null && Number.isFinite(v.final)) row.metrics[k] = v.final;
      row.metricsSource = 'summary';
      row.budget.steps = num(row.metrics.steps);
      row.budget.evalStep = row.budget.steps;
      row.budget.evalEpochs = num(row.metrics.epochs);
      row.budget.totalSteps ??= row.budget.steps;
      if (row.budget.stepsPerEpoch === null && row.budget.steps !== null && row.budget.evalEpochs) row.budget.stepsPerEpoch = Math.round(row.budget.steps / row.budget.evalEpochs);
      row.budget.complete = true;
      row.wallSeconds = num(row.metrics.seconds);
      row.wallSource = row.wallSeconds === null ? null : 'trainer';
    } else fillFromCurves(store, detail, row);
    if (row.metrics.memoryless_loss === undefined && plan.memorylessLoss !== null) row.metrics.memoryless_loss = plan.memorylessLoss;
    return row;
  });
}

function provenanceOf(d: TrialDetail): ResultRow['provenance'] {
  const p = d.provenance;
  return p ? { host: p.host, gitCommit: p.gitCommit, gitDirty: p.gitDirty, nodeVersion: p.nodeVersion, backend: p.backend, kernel: p.kernel } : null;
}

/** An unfinished trial: its latest evaluation, the last training step, and the time it has spent. */
function fillFromCurves(store: Store, detail: TrialDetail, row: ResultRow): void {
  const keys = detail.curves.map((c) => c.key);
  const loss = detail.curves.find((c) => c.key === 'loss');
  row.budget.steps = loss ? loss.lastStep : null;
  const evalKeys = keys.filter((k) => !(PER_STEP_KEYS as readonly string[]).includes(k));
  const curves = metricCurves(store, [row.trial], [...evalKeys, 'step_seconds']);
  // the last full evaluation (test metrics, at an epoch end), else the last validation
  const lastStepOf = (re: RegExp): number | null => {
    let last: number | null = null;
    for (const c of curves) {
      if (!re.test(c.key)) continue;
      for (let i = c.steps.length - 1; i >= 0; i--) {
        if (c.values[i] === null) continue;
        last = Math.max(last ?? -Infinity, c.steps[i]);
        break;
      }
    }
    return last;
  };
  const evalStep = lastStepOf(TEST_KEY) ?? lastStepOf(VAL_KEY);
  let wall = 0;
  let timed = false;
  for (const c of curves) {
    if (c.key === 'step_seconds' || c.key === 'eval_seconds') {
      for (const v of c.values) if (v !== null) wall += v;
      timed = true;
      continue;
    }
    if (evalStep === null) continue;
    const i = c.steps.lastIndexOf(evalStep);
    if (i >= 0 && c.values[i] !== null) row.metrics[c.key] = c.values[i]!;
  }
  if (timed) {
    row.wallSeconds = wall;
    row.wallSource = 'step and eval times';
  }
  if (evalStep === null) return;
  row.metricsSource = 'latest evaluation';
  row.budget.evalStep = evalStep;
  // `epoch` is the 0-based index of the epoch that just ended (absent for a mid-epoch evaluation)
  const epoch = num(row.metrics.epoch);
  row.budget.evalEpochs = epoch !== null && row.metrics.partial_epoch !== 1 ? epoch + 1 : epoch;
  // a mid-epoch evaluation (evalEvery): whole epochs done by then
  if (row.budget.evalEpochs === null && row.budget.stepsPerEpoch) row.budget.evalEpochs = Math.floor(evalStep / row.budget.stepsPerEpoch);
}
