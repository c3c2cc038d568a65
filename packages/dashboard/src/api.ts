/**
 * What the dashboard's JSON endpoints return, as plain functions over an open (read-only)
 * store, so they are testable without HTTP.
 *
 * - List-shaped answers (overview, runs, tables, scatter) read `trials`, `sweeps`,
 *   `sweep_trials` and `summary` only; the per-step `metrics` table is read for one trial's
 *   detail and for the curves of a few selected trials.
 * - Every query is the store's (no SQL here): a filter's errors become 400 answers.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import {
  compileFilter,
  countTrials,
  FilterError,
  getTrial,
  listSweeps,
  listTrials,
  metricCurves,
  metricKeyPoints,
  statusTotals,
  summaryKeys,
  sweepStatus,
  trialConfigs,
  type Store,
  type TrialRow,
} from '@orthoquant/store';
import { loadTableSpec, renderTable, seedBand, sizeAccuracySvg, learningCurvesSvg, isLossLike, tableFromStore, TABLE_FORMATS, type SeedBand, type TableFormat } from '@orthoquant/reporter';

/** An error the client caused: answered with HTTP 400/404 and this message. */
export class RequestError extends Error {
  constructor(
    message: string,
    readonly status = 400,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

// ---------------------------------------------------------------- overview

export interface Overview {
  db: string;
  now: number;
  totals: { total: number; pending: number; running: number; done: number; failed: number };
  sweeps: {
    id: number;
    name: string;
    specPath: string | null;
    total: number;
    pending: number;
    running: number;
    done: number;
    failed: number;
    /** (done + failed) / total. */
    progress: number;
    running_trials: { trialId: number; workerId: string | null; host: string | null; heartbeatAt: number | null; startedAt: number | null; attempt: number }[];
  }[];
}

/** Status counts over every trial, and per sweep with its running trials and their heartbeats. */
export function overview(store: Store): Overview {
  const totals = statusTotals(store);
  const list = listSweeps(store).map((s) => ({
    id: s.id,
    name: s.name,
    specPath: s.specPath,
    total: s.total,
    pending: s.pending,
    running: s.running,
    done: s.done,
    failed: s.failed,
    progress: s.total ? (s.done + s.failed) / s.total : 0,
    running_trials: s.running > 0 ? sweepStatus(store, s.name).runningTrials.map(({ pid: _pid, ...r }) => r) : [],
  }));
  return { db: store.path, now: Date.now(), totals, sweeps: list };
}

// ---------------------------------------------------------------- runs list

export interface RunsQuery {
  where?: string;
  sort?: string;
  desc?: boolean;
  limit?: number;
  offset?: number;
}

export interface RunsPage {
  total: number;
  offset: number;
  limit: number;
  rows: Pick<TrialRow, 'id' | 'hash' | 'status' | 'mode' | 'config' | 'summary' | 'startedAt' | 'finishedAt' | 'error'>[];
  /** Summary keys present in the database (for column pickers and sorting). */
  metricKeys: string[];
}

export const MAX_PAGE = 500;

/** A bad filter is the client's error (answered 400 with where it went wrong). */
function clientFilter<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof FilterError) throw new RequestError(e.message, 400, { kind: 'filter', reason: e.reason, pos: e.pos, text: e.text });
    throw e;
  }
}

/** One page of trials with their summary values; `total` counts every match of the filter. */
export function runs(store: Store, q: RunsQuery): RunsPage {
  const limit = Math.min(Math.max(1, Math.trunc(q.limit ?? 100)), MAX_PAGE);
  const offset = Math.max(0, Math.trunc(q.offset ?? 0));
  const total = clientFilter(() => countTrials(store, q.where));
  let rows: TrialRow[];
  try {
    rows = listTrials(store, { where: q.where?.trim() ? q.where : undefined, orderBy: q.sort || undefined, desc: q.desc, limit, offset });
  } catch (e) {
    if (e instanceof Error && /^orderBy: /.test(e.message)) throw new RequestError(e.message, 400, { kind: 'sort' });
    throw e;
  }
  return {
    total,
    offset,
    limit,
    rows: rows.map(({ id, hash, status, mode, config, summary: s, startedAt, finishedAt, error }) => ({ id, hash, status, mode, config, summary: s, startedAt, finishedAt, error })),
    metricKeys: summaryKeys(store),
  };
}


// ---------------------------------------------------------------- run detail

export interface RunDetail extends ReturnType<typeof getTrial> {
  /** Tail of the newest log artifact; `missing` when the file is gone. */
  log: { path: string; text: string; truncated: boolean; missing?: boolean } | null;
}

const LOG_TAIL_BYTES = 16 * 1024;

/** One trial in full: config, provenance, artifacts, curve keys, and the tail of its log. */
export function runDetail(store: Store, ref: string): RunDetail {
  let t;
  try {
    t = getTrial(store, ref);
  } catch (e) {
    const msg = (e as Error).message;
    throw new RequestError(msg, /^no trial/.test(msg) ? 404 : 400);
  }
  const logArt = [...t.artifacts].reverse().find((a) => a.kind === 'log');
  let log: RunDetail['log'] = null;
  if (logArt) {
    const path = isAbsolute(logArt.path) || store.path === ':memory:' ? logArt.path : resolve(dirname(store.path), logArt.path);
    log = tailFile(path, LOG_TAIL_BYTES);
  }
  return { ...t, log };
}

/** The last `max` bytes of a file, starting at a line boundary; null if unreadable. */
export function tailFile(path: string, max: number): { path: string; text: string; truncated: boolean; missing?: boolean } | null {
  if (!existsSync(path)) return { path, text: '', truncated: false, missing: true };
  let fd: number | null = null;
  try {
    const size = statSync(path).size;
    const from = Math.max(0, size - max);
    const buf = Buffer.alloc(size - from);
    fd = openSync(path, 'r');
    readSync(fd, buf, 0, buf.length, from);
    let text = buf.toString('utf8');
    if (from > 0) text = text.slice(text.indexOf('\n') + 1);
    return { path, text, truncated: from > 0 };
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

// ---------------------------------------------------------------- curves

export const MAX_CURVE_TRIALS = 64;

export interface CurveGroup {
  /** The configuration without its seed, as a short label. */
  label: string;
  trialIds: number[];
  band: SeedBand;
}

export interface CurvesAnswer {
  key: string;
  groups: CurveGroup[];
  /** Keys with a curve among the selected trials. */
  keys: string[];
}

/** Parse "1,2,3" into trial ids (at most MAX_CURVE_TRIALS). */
export function parseIds(text: string | null | undefined): number[] {
  if (!text) throw new RequestError(`ids: expected a comma-separated list of trial ids, got nothing`);
  const ids = text.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = ids.find((s) => !/^\d+$/.test(s));
  if (bad !== undefined) throw new RequestError(`ids: expected trial ids (digits), got '${bad}'`);
  if (ids.length > MAX_CURVE_TRIALS) throw new RequestError(`ids: at most ${MAX_CURVE_TRIALS} trials at once, got ${ids.length}`);
  return [...new Set(ids.map(Number))];
}

/** Configuration without seed keys (any depth), canonical: the seed-band grouping key. */
export function seedlessKey(config: unknown): string {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([k]) => k !== 'seed' && k !== 'seeds')
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, x]) => [k, strip(x)]),
      );
    }
    return v;
  };
  return JSON.stringify(strip(config));
}

/** A short human label for a configuration: model type, bits, hidden size, task. */
export function configLabel(config: Record<string, unknown>): string {
  const model = (config.model ?? {}) as Record<string, unknown>;
  const task = (config.task ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  if (model.type ?? model.kind) parts.push(String(model.type ?? model.kind));
  if (typeof model.bits === 'number') parts.push(`${model.bits}-bit`);
  else if (model.bits === null) parts.push('fp');
  if (typeof model.hidden === 'number') parts.push(`n=${model.hidden}`);
  if (task.name) parts.push(String(task.name));
  return parts.length ? parts.join(' ') : 'config';
}

interface RunGroup {
  label: string;
  ids: number[];
  runs: { steps: number[]; values: (number | null)[] }[];
}

const PREFERRED_CURVES = ['val_accuracy', 'test_accuracy', 'val_loss', 'loss'];

/**
 * The metric a curves view opens on: the first of val_accuracy, test_accuracy, val_loss, loss
 * that some trial recorded at two steps or more (a metric recorded once is no curve), else the
 * key with the longest curve, else the first preferred key present.
 */
export function defaultCurveKey(points: ReadonlyMap<string, number>): string | undefined {
  const curve = (k: string) => (points.get(k) ?? 0) >= 2;
  const preferred = PREFERRED_CURVES.find(curve);
  if (preferred) return preferred;
  const longest = [...points].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
  if (longest && longest[1] >= 2) return longest[0];
  return PREFERRED_CURVES.find((k) => points.has(k)) ?? [...points.keys()].sort()[0];
}

/** Curves of one metric (default: see `defaultCurveKey`) grouped by seedless config. */
function groupedRuns(store: Store, ids: readonly number[], key: string | undefined): { key: string; keys: string[]; groups: RunGroup[] } {
  if (ids.length === 0) return { key: key ?? '', groups: [], keys: [] };
  const perKey = metricKeyPoints(store, ids);
  const keys = perKey.map((r) => r.key);
  const chosen = key && key !== '' ? key : defaultCurveKey(new Map(perKey.map((r) => [r.key, r.points])));
  if (!chosen) return { key: '', groups: [], keys };
  const configs = trialConfigs(store, ids);
  const byGroup = new Map<string, RunGroup>();
  for (const c of metricCurves(store, ids, [chosen])) {
    const cfg = configs.get(c.trialId) ?? {};
    const g = seedlessKey(cfg);
    let entry = byGroup.get(g);
    if (!entry) byGroup.set(g, (entry = { label: configLabel(cfg), ids: [], runs: [] }));
    entry.ids.push(c.trialId);
    entry.runs.push({ steps: c.steps, values: c.values });
  }
  // Two different configs with the same short label: tell them apart by their first trial.
  const groups = [...byGroup.values()];
  const labels = groups.map((g) => g.label);
  for (const g of groups) if (labels.filter((l) => l === g.label).length > 1) g.label = `${g.label} (#${g.ids[0]})`;
  return { key: chosen, keys, groups };
}

/**
 * Curves of one metric for the selected trials, grouped by configuration without seed:
 * one seed band (mean ± std per step, see the reporter's `seedBand`) per group.
 */
export function curves(store: Store, ids: readonly number[], key: string | undefined): CurvesAnswer {
  const g = groupedRuns(store, ids, key);
  return { key: g.key, keys: g.keys, groups: g.groups.map((x) => ({ label: x.label, trialIds: x.ids, band: seedBand(x.runs) })) };
}

/** The same curves as a standalone SVG (the reporter's learning-curve plot). */
export function curvesSvg(store: Store, ids: readonly number[], key: string | undefined, reference?: { value: number; label: string }, opts: { logY?: boolean } = {}): string {
  const g = groupedRuns(store, ids, key);
  // losses (and bpc, perplexity) on a log axis by default, when every value is positive
  const positive = g.groups.every((x) => x.runs.every((r) => r.values.every((v) => v === null || v > 0)));
  const logY = opts.logY ?? (isLossLike(g.key) && positive);
  return learningCurvesSvg({ title: g.key ? `${g.key} per step` : 'Learning curves', yLabel: g.key || undefined, series: g.groups.map((x) => ({ label: x.label, runs: x.runs })), reference, logY });
}

/** Per-step curves of one trial for the given keys (diagnostics), raw. */
export function trialCurves(store: Store, id: number, keys: readonly string[]): { key: string; steps: number[]; values: (number | null)[] }[] {
  return metricCurves(store, [id], keys).map(({ key, steps, values }) => ({ key, steps, values }));
}

// ---------------------------------------------------------------- paper tables

export interface TableEntry {
  name: string;
  file: string;
  title?: string;
  error?: string;
}

/** `*.yaml` / `*.yml` files of the tables folder, with their title or their parse error. */
export function listTables(tablesDir: string): TableEntry[] {
  if (!existsSync(tablesDir)) return [];
  return readdirSync(tablesDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => {
      const file = join(tablesDir, f);
      const name = basename(f).replace(/\.ya?ml$/, '');
      try {
        const spec = loadTableSpec(file);
        return { name, file, title: spec.title };
      } catch (e) {
        return { name, file, error: (e as Error).message };
      }
    });
}

/** A table spec rendered over the done trials (summary table only), in one of the formats. */
export function renderPaperTable(store: Store, tablesDir: string, name: string, format: TableFormat | 'json'): { text: string; contentType: string; filename: string } {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new RequestError(`table: expected a table name of letters, digits, '-' and '_', got '${name}'`);
  const entry = listTables(tablesDir).find((t) => t.name === name);
  if (!entry) throw new RequestError(`table '${name}' not found in ${tablesDir}`, 404);
  if (format !== 'json' && !(TABLE_FORMATS as readonly string[]).includes(format)) throw new RequestError(`format: expected one of ${TABLE_FORMATS.join(', ')}, got '${format}'`);
  let spec;
  try {
    spec = loadTableSpec(entry.file);
  } catch (e) {
    throw new RequestError((e as Error).message, 422);
  }
  const table = tableFromStore(store, entry.file);
  if (format === 'json') {
    return { text: JSON.stringify({ name, title: spec.title, markdown: renderTable(table, 'md'), rows: table.rows, columns: table.columns }), contentType: 'application/json; charset=utf-8', filename: `${name}.json` };
  }
  const types: Record<TableFormat, [string, string]> = { md: ['text/markdown; charset=utf-8', 'md'], csv: ['text/csv; charset=utf-8', 'csv'], latex: ['application/x-latex; charset=utf-8', 'tex'] };
  const [contentType, ext] = types[format];
  return { text: renderTable(table, format), contentType, filename: `${name}.${ext}` };
}

// ---------------------------------------------------------------- size vs accuracy

export interface ScatterQuery {
  where?: string;
  /** Summary key of the accuracy (default test_accuracy). */
  metric?: string;
  /** Summary key of the model size in bytes (default size_bytes). */
  size?: string;
}

export interface ScatterPoint {
  family: string;
  label: string;
  sizeBytes: number;
  accuracy: number;
  n: number;
  trialIds: number[];
}

/**
 * Done trials with both a size and an accuracy in their summary, averaged over seeds per
 * configuration; family = model type, label = bit width.
 */
export function scatterPoints(store: Store, q: ScatterQuery): { metric: string; size: string; points: ScatterPoint[] } {
  const metric = q.metric || 'test_accuracy';
  const size = q.size || 'size_bytes';
  for (const [name, v] of [['metric', metric], ['size', size]] as const) if (!/^[A-Za-z0-9_./-]+$/.test(v)) throw new RequestError(`${name}: expected a metric key, got '${v}'`);
  if (q.where?.trim()) clientFilter(() => compileFilter(q.where!));
  const where = [q.where?.trim(), 'status = done'].filter(Boolean).join(' and ');
  const rows = listTrials(store, { where, summaryKeys: [metric, size] });
  const groups = new Map<string, { cfg: Record<string, unknown>; acc: number[]; size: number[]; ids: number[] }>();
  for (const r of rows) {
    const a = r.summary[metric]?.final;
    const s = r.summary[size]?.final;
    if (typeof a !== 'number' || typeof s !== 'number') continue;
    const k = seedlessKey(r.config);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { cfg: r.config, acc: [], size: [], ids: [] }));
    g.acc.push(a);
    g.size.push(s);
    g.ids.push(r.id);
  }
  const modelOf = (cfg: Record<string, unknown>) => (cfg.model ?? {}) as Record<string, unknown>;
  const familyOf = (model: Record<string, unknown>) => String(model.type ?? model.kind ?? 'model');
  // A family seen at several hidden sizes (a size sweep: HadamRNN's Figure 1 plane, n = 96, 128, 192, …)
  // names each point's n as well as its bits.
  const sizes = new Map<string, Set<unknown>>();
  for (const g of groups.values()) {
    const model = modelOf(g.cfg);
    const f = familyOf(model);
    if (!sizes.has(f)) sizes.set(f, new Set());
    sizes.get(f)!.add(model.hidden);
  }
  const points = [...groups.values()].map((g) => {
    const model = modelOf(g.cfg);
    const family = familyOf(model);
    const bits = typeof model.bits === 'number' ? `${model.bits}-bit` : model.bits === null ? 'fp' : '';
    const label = sizes.get(family)!.size > 1 && typeof model.hidden === 'number' ? [`n=${model.hidden}`, bits].filter(Boolean).join(' ') : bits;
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    return { family, label, sizeBytes: mean(g.size), accuracy: mean(g.acc), n: g.acc.length, trialIds: g.ids };
  });
  return { metric, size, points };
}

export function scatterSvg(store: Store, q: ScatterQuery): string {
  const { metric, points } = scatterPoints(store, q);
  return sizeAccuracySvg({ title: `Model size vs ${metric}`, yLabel: metric, points });
}
