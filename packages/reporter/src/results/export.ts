/**
 * `orthoquant results export`: what a sweep produced, written from the store as files a
 * reader (and REPRODUCTION.md) can check — no number typed by hand.
 *
 *   <out>/README.md                 index: every sweep, its trials and how far each got
 *   <out>/index.json                the same as data
 *   <out>/<sweep>/summary.json      one ResultRow per trial (config, budget reached, metrics, wall time, provenance)
 *   <out>/<sweep>/summary.csv       the same, flat: one column per config key and metric
 *   <out>/<sweep>/curves.csv        trial,key,step,value — evaluated keys in full, the training loss thinned
 *   <out>/<sweep>/tables/<t>.md     each configs/tables spec with at least one finished cell for this sweep
 *   <out>/<sweep>/<metric>.svg      learning curves (loss on a log axis, with the memoryless baseline)
 *
 * The output is a function of the store: exporting twice gives the same bytes.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { InputError } from '@orthoquant/runtime';
import { basename, join } from 'node:path';
import type { Store } from '@orthoquant/store';
import { learningCurvesSvg, type CurveSeries } from '../plots/learning-curves.js';
import { tableFromStore } from '../from-store.js';
import { csvField, renderTable } from '../render.js';
import { resultRows, type ResultRow, type TrialPlan } from './rows.js';
import { curvePoints, type CurvePoint, type Thinning } from './curves.js';
import { budgetText, formatValue, hoursText } from './format.js';

export const RESULTS_FORMAT = 'orthoquant-results/1';

export interface ExportResultsOptions {
  sweeps: readonly string[];
  /** Output folder (each sweep gets a sub-folder, replaced on export). */
  out: string;
  /** Table spec files to try (configs/tables/*.yaml); a table without any finished cell for the sweep is skipped. */
  tableSpecs?: readonly string[];
  publishedDir?: string;
  /** Steps per epoch and memoryless baseline of a trial config (the CLI asks the task). */
  planOf?: (config: Record<string, unknown>) => TrialPlan;
  /** Training-loss points kept per trial in curves.csv and the plots (default 2000). */
  maxLossPoints?: number;
}

export interface ExportedSweep {
  sweep: string;
  dir: string;
  files: string[];
  rows: ResultRow[];
  thinning: Record<number, Thinning>;
}

/** Loss-like keys are drawn on a log axis (a solved copy task spans ~2 down to 1e-7). */
const PLOTS: { key: string; file: string; title: string; yLabel: string; log: boolean }[] = [
  { key: 'loss', file: 'train-loss.svg', title: 'training loss', yLabel: 'cross-entropy (nats, log scale)', log: true },
  { key: 'val_loss', file: 'val-loss.svg', title: 'validation loss', yLabel: 'cross-entropy (nats, log scale)', log: true },
  { key: 'test_loss', file: 'test-loss.svg', title: 'test loss', yLabel: 'cross-entropy (nats, log scale)', log: true },
  { key: 'test_accuracy', file: 'test-accuracy.svg', title: 'test accuracy', yLabel: 'accuracy', log: false },
];

export function exportResults(store: Store, opts: ExportResultsOptions): ExportedSweep[] {
  const maxPoints = opts.maxLossPoints ?? 2000;
  mkdirSync(opts.out, { recursive: true });
  const out: ExportedSweep[] = [];
  for (const sweep of opts.sweeps) {
    const rows = resultRows(store, sweep, opts.planOf);
    const dir = join(opts.out, sweep);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    const write = (name: string, text: string) => {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text);
      files.push(name);
    };
    const { points, thinning } = curvePoints(
      store,
      rows.map((r) => r.trial),
      maxPoints,
    );
    const thin = Object.fromEntries([...thinning].sort(([a], [b]) => a - b));
    write('summary.json', JSON.stringify({ format: RESULTS_FORMAT, sweep, lossThinning: thin, trials: rows }, null, 2) + '\n');
    write('summary.csv', summaryCsv(rows));
    write('curves.csv', ['trial,key,step,value', ...points.map((p) => `${p.trial},${csvField(p.key)},${p.step},${p.value ?? ''}`)].join('\n') + '\n');
    for (const spec of opts.tableSpecs ?? []) {
      const table = tableFromStore(store, spec, { sweep, ...(opts.publishedDir ? { publishedDir: opts.publishedDir } : {}) });
      if (table.cells.some((r) => r.some((c) => c.n > 0))) write(join('tables', basename(spec).replace(/\.ya?ml$/, '.md')), renderTable(table, 'md'));
    }
    for (const p of PLOTS) {
      const svg = curvesSvg(sweep, rows, points, p, thinning);
      if (svg) write(p.file, svg);
    }
    out.push({ sweep, dir, files, rows, thinning: thin });
  }
  writeResultsIndex(opts.out);
  return out;
}

function flatten(obj: unknown, prefix: string, out: Record<string, unknown>): void {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = Array.isArray(obj) ? JSON.stringify(obj) : obj;
}

/** summary.csv: fixed columns, then `params.*` (config) and `metrics.*`, union over trials, sorted. */
export function summaryCsv(rows: readonly ResultRow[]): string {
  const flat = rows.map((r) => {
    const o: Record<string, unknown> = {
      sweep: r.sweep,
      trial: r.trial,
      hash: r.hash.slice(0, 12),
      status: r.status,
      label: r.label,
      seed: r.seed,
      steps: r.budget.steps,
      total_steps: r.budget.totalSteps,
      eval_step: r.budget.evalStep,
      eval_epochs: r.budget.evalEpochs,
      total_epochs: r.budget.totalEpochs,
      metrics_source: r.metricsSource,
      wall_seconds: r.wallSeconds,
      wall_source: r.wallSource,
      host: r.provenance?.host ?? null,
      git_commit: r.provenance?.gitCommit ?? null,
    };
    const params: Record<string, unknown> = {};
    flatten(r.config, 'params', params);
    const metrics = Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [`metrics.${k}`, v]));
    return { fixed: o, rest: { ...params, ...metrics } };
  });
  const fixedCols = Object.keys(flat[0]?.fixed ?? { sweep: null });
  const restCols = [...new Set(flat.flatMap((f) => Object.keys(f.rest)))].sort((a, b) => (a.startsWith('params.') === b.startsWith('params.') ? (a < b ? -1 : a > b ? 1 : 0) : a.startsWith('params.') ? -1 : 1));
  const cols = [...fixedCols, ...restCols];
  const lines = [cols.join(',')];
  for (const f of flat) {
    const all = { ...f.fixed, ...f.rest };
    lines.push(cols.map((c) => csvField(all[c] as string | number | boolean | null | undefined)).join(','));
  }
  return lines.join('\n') + '\n';
}

/** One plot of a key: a series per configuration (its seeds as the band), or null when no trial has that curve. */
function curvesSvg(sweep: string, rows: readonly ResultRow[], points: readonly CurvePoint[], p: (typeof PLOTS)[number], thinning: Map<number, Thinning>): string | null {
  const thinned = [...thinning.values()].some((t) => t.every > 1);
  const key = p.key === 'loss' && thinned ? 'loss_mean' : p.key;
  const byTrial = new Map<number, { steps: number[]; values: (number | null)[] }>();
  for (const pt of points) {
    if (pt.key !== key) continue;
    let c = byTrial.get(pt.trial);
    if (!c) byTrial.set(pt.trial, (c = { steps: [], values: [] }));
    c.steps.push(pt.step);
    c.values.push(pt.value);
  }
  if (byTrial.size === 0) return null;
  const series: CurveSeries[] = [];
  for (const label of [...new Set(rows.map((r) => r.label))]) {
    const runs = rows.filter((r) => r.label === label && byTrial.has(r.trial)).map((r) => byTrial.get(r.trial)!);
    if (runs.length) series.push({ label, runs });
  }
  const baselines = [...new Set(rows.map((r) => r.metrics.memoryless_loss).filter((v): v is number => typeof v === 'number'))];
  const reference = p.log && baselines.length === 1 ? { value: baselines[0], label: `memoryless baseline ${formatValue(baselines[0])}` } : undefined;
  const every = Math.max(...[...thinning.values()].map((t) => t.every), 1);
  const title = `${sweep}: ${p.title}${key === 'loss_mean' ? ` (mean of every ${every} steps)` : ''}`;
  const positive = series.some((s) => s.runs.some((r) => r.values.some((v) => v !== null && v > 0)));
  if (p.log && !positive) return null;
  return learningCurvesSvg({ title, xLabel: 'step', yLabel: p.yLabel, series, logY: p.log, ...(reference ? { reference } : {}) });
}

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const d of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...filesUnder(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

/** The rows of an exported sweep folder (its summary.json), or null when it holds none. */
export function readSummary(file: string): { sweep: string; trials: ResultRow[] } | null {
  if (!existsSync(file)) return null;
  let data: { format?: string; sweep?: string; trials?: ResultRow[] };
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as typeof data;
  } catch (e) {
    throw new InputError(`not valid JSON (${(e as Error).message}); export it again with \`orthoquant results export\``, file);
  }
  if (data.format !== RESULTS_FORMAT || typeof data.sweep !== 'string' || !Array.isArray(data.trials)) throw new InputError(`not an ${RESULTS_FORMAT} summary (export it again with \`orthoquant results export\`)`, file);
  return { sweep: data.sweep, trials: data.trials };
}

/**
 * Write rows computed elsewhere (e.g. integer-only evaluations of a sweep's models) as a
 * results folder `<out>/<name>/` (summary.json, summary.csv), and refresh the index.
 */
export function writeResultRows(outDir: string, name: string, rows: readonly ResultRow[]): string[] {
  const dir = join(outDir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'summary.json'), JSON.stringify({ format: RESULTS_FORMAT, sweep: name, lossThinning: {}, trials: rows }, null, 2) + '\n');
  writeFileSync(join(dir, 'summary.csv'), summaryCsv(rows));
  writeResultsIndex(outDir);
  return ['summary.json', 'summary.csv'];
}

/** results/README.md and results/index.json over every sweep folder in `outDir` (exported now or before). */
export function writeResultsIndex(outDir: string): void {
  const lines = [
    '# Results',
    '',
    'Exported from the experiment store by `orthoquant results export`; do not edit by hand (export again).',
    'Per sweep: `summary.json` / `summary.csv` (one row per trial: config, budget reached, metrics, wall time, machine),',
    '`curves.csv` (`trial,key,step,value`), `tables/*.md` (the paper tables of `configs/tables/` with a finished cell), `*.svg` learning curves.',
    '',
    'A trial that is not done reports its latest evaluation ("metrics_source: latest evaluation") at the step and epoch given.',
    'The training loss (`loss`, one value per optimizer step) is thinned in `curves.csv`: kept at every N-th step and the last,',
    'with `loss_mean` the mean of the N steps ending there (N per trial in `summary.json`, `lossThinning`); loss plots draw `loss_mean`.',
    '',
  ];
  const index: Record<string, unknown>[] = [];
  const dirs = readdirSync(outDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  for (const sweep of dirs) {
    const summary = readSummary(join(outDir, sweep, 'summary.json'));
    if (!summary) continue;
    const files = filesUnder(join(outDir, sweep));
    lines.push(`## ${sweep}`, '', `Files: ${files.map((f) => `[${f}](${sweep}/${f})`).join(', ')}`, '');
    lines.push('| trial | configuration | seed | status | budget reached | metrics | training time |', '|---|---|---|---|---|---|---|');
    for (const r of summary.trials) {
      const shown = ['test_loss', 'test_accuracy', 'test_copyAccuracy', 'val_loss', 'val_accuracy', 'int_test_loss', 'float_ref_test_loss', 'int_test_accuracy', 'float_ref_test_accuracy', 'memoryless_loss'].filter((k) => r.metrics[k] !== undefined).map((k) => `${k} ${formatValue(r.metrics[k])}`);
      lines.push(`| ${r.trial} | ${r.label} | ${r.seed ?? '—'} | ${r.status} | ${budgetText(r.budget)} | ${shown.join(', ') || '—'} | ${hoursText(r.wallSeconds)} |`);
    }
    lines.push('');
    index.push({ sweep, files, trials: summary.trials.map((r) => ({ trial: r.trial, hash: r.hash, status: r.status, label: r.label, seed: r.seed, budget: r.budget })) });
  }
  writeFileSync(join(outDir, 'README.md'), lines.join('\n'));
  writeFileSync(join(outDir, 'index.json'), JSON.stringify({ format: RESULTS_FORMAT, sweeps: index }, null, 2) + '\n');
}
