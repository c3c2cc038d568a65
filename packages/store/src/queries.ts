/**
 * Reading side: typed queries for the CLI (`runs list|show`, `sweep status`), the reporter
 * and the dashboard. Read-only; safe while a sweep is writing (WAL).
 */
import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Store } from './open.js';
import { artifacts, provenance, summary, sweeps, sweepTrials, trials, type ArtifactKind, type TrialMode, type TrialStatus } from './schema.js';
import { compileFilter, jsonPath, parseFilter, FilterError, type FilterComparison } from './filter.js';
import type { SummaryValue } from './trials.js';

export interface StatusCounts {
  total: number;
  pending: number;
  running: number;
  done: number;
  failed: number;
}

export interface SweepStatus extends StatusCounts {
  sweep: { id: number; name: string; fingerprint: string; specPath: string | null; createdAt: number; updatedAt: number };
  /** Members dropped by a forced re-definition (kept, not counted above). */
  retired: number;
  /** Active members outside `SweepStatusOptions.trialIds` (not counted above; 0 without a selection). */
  excluded: number;
  runningTrials: {
    trialId: number;
    workerId: string | null;
    pid: number | null;
    host: string | null;
    heartbeatAt: number | null;
    startedAt: number | null;
    attempt: number;
    /** The worker's last report: step, step budget, recent steps/s (null until the first one). */
    step: number | null;
    totalSteps: number | null;
    stepsPerSecond: number | null;
  }[];
  /** Start of the first and end of the last finished trial (ms), for ETAs. */
  firstStartedAt: number | null;
  lastFinishedAt: number | null;
}

function emptyCounts(): StatusCounts {
  return { total: 0, pending: 0, running: 0, done: 0, failed: 0 };
}

export interface SweepStatusOptions {
  /**
   * Count only these trials (a `sweep run --only` selection): the others are reported as
   * `excluded`, and running trials, start and finish times are those of the selection.
   */
  trialIds?: ReadonlySet<number>;
}

/** Status counts of one sweep's active trials; throws naming the known sweeps if unknown. */
export function sweepStatus(store: Store, name: string, opts: SweepStatusOptions = {}): SweepStatus {
  const sw = store.db.select().from(sweeps).where(eq(sweeps.name, name)).get();
  if (!sw) {
    const known = store.db.select({ name: sweeps.name }).from(sweeps).orderBy(sweeps.name).all().map((r) => r.name);
    throw new Error(`unknown sweep '${name}' in ${store.path} (${known.length ? `known: ${known.join(', ')}` : 'no sweeps recorded yet'})`);
  }
  const counts = emptyCounts();
  let retired = 0;
  let excluded = 0;
  const selection = opts.trialIds;
  const selected = selection ? sql`${sweepTrials.trialId} IN (SELECT value FROM json_each(${JSON.stringify([...selection])}))` : sql`1`;
  const rows = store.db
    .select({ status: trials.status, active: sweepTrials.active, selected: sql<number>`${selected}`, n: sql<number>`count(*)` })
    .from(sweepTrials)
    .innerJoin(trials, eq(trials.id, sweepTrials.trialId))
    .where(eq(sweepTrials.sweepId, sw.id))
    .groupBy(trials.status, sweepTrials.active, sql`3`)
    .all();
  for (const r of rows) {
    if (!r.active) {
      retired += r.n;
      continue;
    }
    if (!r.selected) {
      excluded += r.n;
      continue;
    }
    counts[r.status] += r.n;
    counts.total += r.n;
  }
  const members = and(eq(sweepTrials.sweepId, sw.id), eq(sweepTrials.active, true), selected);
  const running = store.db
    .select({
      trialId: trials.id,
      workerId: trials.workerId,
      pid: trials.workerPid,
      host: trials.workerHost,
      heartbeatAt: trials.heartbeatAt,
      startedAt: trials.startedAt,
      attempt: trials.attempts,
      step: trials.progressStep,
      totalSteps: trials.progressTotal,
      stepsPerSecond: trials.progressRate,
    })
    .from(sweepTrials)
    .innerJoin(trials, eq(trials.id, sweepTrials.trialId))
    .where(and(members, eq(trials.status, 'running')))
    .orderBy(sweepTrials.position)
    .all();
  const times = store.db
    .select({ first: sql<number | null>`min(${trials.startedAt})`, last: sql<number | null>`max(${trials.finishedAt})` })
    .from(sweepTrials)
    .innerJoin(trials, eq(trials.id, sweepTrials.trialId))
    .where(members)
    .get();
  const { spec: _spec, ...meta } = sw;
  return { sweep: meta, ...counts, retired, excluded, runningTrials: running, firstStartedAt: times?.first ?? null, lastFinishedAt: times?.last ?? null };
}

export interface SweepListRow extends StatusCounts {
  id: number;
  name: string;
  specPath: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Every sweep with its status counts, oldest first. */
export function listSweeps(store: Store): SweepListRow[] {
  const list = store.db.select({ id: sweeps.id, name: sweeps.name, specPath: sweeps.specPath, createdAt: sweeps.createdAt, updatedAt: sweeps.updatedAt }).from(sweeps).orderBy(sweeps.id).all();
  const counts = store.db
    .select({ sweepId: sweepTrials.sweepId, status: trials.status, n: sql<number>`count(*)` })
    .from(sweepTrials)
    .innerJoin(trials, eq(trials.id, sweepTrials.trialId))
    .where(eq(sweepTrials.active, true))
    .groupBy(sweepTrials.sweepId, trials.status)
    .all();
  return list.map((s) => {
    const c = emptyCounts();
    for (const r of counts) {
      if (r.sweepId !== s.id) continue;
      c[r.status] += r.n;
      c.total += r.n;
    }
    return { ...s, ...c };
  });
}

export interface TrialRow {
  id: number;
  hash: string;
  status: TrialStatus;
  mode: TrialMode;
  attempts: number;
  config: Record<string, unknown>;
  error: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** Summary per metric key (all keys, or those asked for). */
  summary: Record<string, SummaryValue>;
}

export interface ListTrialsOptions {
  /** Only active members of this sweep (in expansion order unless `orderBy`). */
  sweep?: string;
  /** Filter text (see filter.ts) or parsed comparisons. */
  where?: string | readonly FilterComparison[];
  /** `params.<path>`, `metrics.<key>`, `best.<key>`, or a column (id, status, mode, attempts, started, finished). */
  orderBy?: string;
  desc?: boolean;
  limit?: number;
  offset?: number;
  /** Only these summary keys in each row (default all). */
  summaryKeys?: readonly string[];
}

function orderExpr(field: string): SQL {
  switch (field) {
    case 'id':
      return sql`${trials.id}`;
    case 'status':
      return sql`${trials.status}`;
    case 'mode':
      return sql`${trials.mode}`;
    case 'attempts':
      return sql`${trials.attempts}`;
    case 'started':
      return sql`${trials.startedAt}`;
    case 'finished':
      return sql`${trials.finishedAt}`;
  }
  const [c] = (() => {
    try {
      return parseFilter(`${field} = 0`);
    } catch (e) {
      if (e instanceof FilterError) throw new Error(`orderBy: expected params.<path>, metrics.<key>, best.<key>, id, status, mode, attempts, started or finished, got '${field}'`);
      throw e;
    }
  })();
  if (c.field.kind === 'param') return sql`json_extract(${trials.config}, ${jsonPath(c.field.path)})`;
  if (c.field.kind === 'metric') return sql`(SELECT ${sql.raw(c.field.which === 'best' ? 's.best' : 's.final')} FROM summary s WHERE s.trial_id = ${trials.id} AND s.key = ${c.field.key})`;
  throw new Error(`orderBy: cannot order by '${field}'`);
}

/** Trials with their summary values, filtered and ordered. */
/** A trials-table row as the queries return it (summary filled in by `attachSummaries`). */
function trialRow(t: typeof trials.$inferSelect): TrialRow {
  return {
    id: t.id,
    hash: t.configHash,
    status: t.status,
    mode: t.mode,
    attempts: t.attempts,
    config: JSON.parse(t.config) as Record<string, unknown>,
    error: t.error,
    createdAt: t.createdAt,
    startedAt: t.startedAt,
    finishedAt: t.finishedAt,
    summary: {},
  };
}

export function listTrials(store: Store, opts: ListTrialsOptions = {}): TrialRow[] {
  const conds: SQL[] = [];
  let sweepId: number | null = null;
  if (opts.sweep !== undefined) {
    const sw = store.db.select({ id: sweeps.id }).from(sweeps).where(eq(sweeps.name, opts.sweep)).get();
    if (!sw) sweepStatus(store, opts.sweep); // throws: unknown sweep, naming the known ones
    sweepId = sw!.id;
  }
  if (opts.where !== undefined) conds.push(compileFilter(opts.where));
  const order: SQL[] = [];
  if (opts.orderBy) {
    const e = orderExpr(opts.orderBy);
    order.push(opts.desc ? sql`${e} DESC NULLS LAST` : sql`${e} ASC NULLS LAST`);
  }
  let rows;
  if (sweepId !== null) {
    rows = store.db
      .select({ t: trials })
      .from(trials)
      .innerJoin(sweepTrials, and(eq(sweepTrials.trialId, trials.id), eq(sweepTrials.sweepId, sweepId), eq(sweepTrials.active, true)))
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(...order, asc(sweepTrials.position))
      .limit(opts.limit ?? -1)
      .offset(opts.offset ?? 0)
      .all();
  } else {
    rows = store.db
      .select({ t: trials })
      .from(trials)
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(...order, asc(trials.id))
      .limit(opts.limit ?? -1)
      .offset(opts.offset ?? 0)
      .all();
  }
  const out: TrialRow[] = rows.map(({ t }) => trialRow(t));
  attachSummaries(store, out, opts.summaryKeys);
  return out;
}

function attachSummaries(store: Store, rows: TrialRow[], keys?: readonly string[]): void {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const ids = [...byId.keys()];
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const conds = [inArray(summary.trialId, chunk)];
    if (keys) {
      if (keys.length === 0) return;
      conds.push(inArray(summary.key, [...keys]));
    }
    for (const s of store.db.select().from(summary).where(and(...conds)).orderBy(summary.key).all()) {
      byId.get(s.trialId)!.summary[s.key] = { final: s.final, best: s.best, bestStep: s.bestStep, n: s.n };
    }
  }
}

export interface TrialDetail extends TrialRow {
  originSweep: string | null;
  sweeps: string[];
  workerId: string | null;
  workerPid: number | null;
  workerHost: string | null;
  heartbeatAt: number | null;
  artifacts: { kind: ArtifactKind; path: string; bytes: number | null; step: number | null; createdAt: number }[];
  provenance: { packageVersion: string | null; gitCommit: string | null; gitDirty: boolean | null; backend: string | null; kernel: string | null; nodeVersion: string | null; host: string | null; attempt: number | null; recordedAt: number } | null;
  /** Metric keys with a curve, and their number of points. */
  curves: { key: string; points: number; firstStep: number; lastStep: number }[];
}

/**
 * One trial in full, by id (number or digits) or by a unique hash prefix (≥ 4 hex digits).
 * Throws a clear error if nothing or more than one trial matches.
 */
export function getTrial(store: Store, ref: number | string): TrialDetail {
  let t;
  if (typeof ref === 'number' || /^\d+$/.test(ref)) {
    t = store.db.select().from(trials).where(eq(trials.id, Number(ref))).get();
    if (!t && typeof ref === 'string' && ref.length >= 4) t = byHash(store, ref);
  } else {
    if (!/^[0-9a-f]{4,64}$/i.test(ref)) throw new Error(`trial reference: expected an id or a hash prefix of at least 4 hex digits, got '${ref}'`);
    t = byHash(store, ref);
  }
  if (!t) throw new Error(`no trial ${typeof ref === 'number' ? `with id ${ref}` : `'${ref}'`} in ${store.path}`);
  const row = trialRow(t);
  attachSummaries(store, [row]);
  const memberOf = store.db
    .select({ name: sweeps.name })
    .from(sweepTrials)
    .innerJoin(sweeps, eq(sweeps.id, sweepTrials.sweepId))
    .where(and(eq(sweepTrials.trialId, t.id), eq(sweepTrials.active, true)))
    .orderBy(sweeps.id)
    .all()
    .map((r) => r.name);
  const origin = t.originSweepId === null ? null : (store.db.select({ name: sweeps.name }).from(sweeps).where(eq(sweeps.id, t.originSweepId)).get()?.name ?? null);
  const arts = store.db
    .select({ kind: artifacts.kind, path: artifacts.path, bytes: artifacts.bytes, step: artifacts.step, createdAt: artifacts.createdAt })
    .from(artifacts)
    .where(eq(artifacts.trialId, t.id))
    .orderBy(artifacts.id)
    .all();
  const prov = store.db.select().from(provenance).where(eq(provenance.trialId, t.id)).get();
  const curves = store.sqlite
    .prepare(`SELECT key, count(*) AS points, min(step) AS firstStep, max(step) AS lastStep FROM metrics WHERE trial_id = ? GROUP BY key ORDER BY key`)
    .all(t.id) as TrialDetail['curves'];
  let provOut: TrialDetail['provenance'] = null;
  if (prov) {
    const { trialId: _id, ...rest } = prov;
    provOut = rest;
  }
  return {
    ...row,
    originSweep: origin,
    sweeps: memberOf,
    workerId: t.workerId,
    workerPid: t.workerPid,
    workerHost: t.workerHost,
    heartbeatAt: t.heartbeatAt,
    artifacts: arts,
    provenance: provOut,
    curves,
  };
}

function byHash(store: Store, prefix: string) {
  const matches = store.db
    .select()
    .from(trials)
    .where(sql`${trials.configHash} LIKE ${`${prefix.toLowerCase()}%`}`)
    .limit(2)
    .all();
  if (matches.length > 1) throw new Error(`trial hash prefix '${prefix}' is ambiguous in ${store.path}; give more digits`);
  return matches[0];
}

export interface MetricCurve {
  trialId: number;
  key: string;
  steps: number[];
  /** null where the trainer reported NaN. */
  values: (number | null)[];
}

/** Per-step curves of the given trials (all keys, or those asked for), by trial then key. */
export function metricCurves(store: Store, trialIds: readonly number[], keys?: readonly string[]): MetricCurve[] {
  const out: MetricCurve[] = [];
  if (trialIds.length === 0 || (keys && keys.length === 0)) return out;
  const unique = [...new Set(trialIds)].sort((a, b) => a - b);
  for (let i = 0; i < unique.length; i += 500) {
    const chunk = unique.slice(i, i + 500);
    const params: (number | string)[] = [...chunk];
    let q = `SELECT trial_id, key, step, value FROM metrics WHERE trial_id IN (${chunk.map(() => '?').join(',')})`;
    if (keys) {
      q += ` AND key IN (${keys.map(() => '?').join(',')})`;
      params.push(...keys);
    }
    q += ` ORDER BY trial_id, key, step`;
    let cur: MetricCurve | null = null;
    for (const r of store.sqlite.prepare(q).iterate(...params) as IterableIterator<{ trial_id: number; key: string; step: number; value: number | null }>) {
      if (!cur || cur.trialId !== r.trial_id || cur.key !== r.key) {
        cur = { trialId: r.trial_id, key: r.key, steps: [], values: [] };
        out.push(cur);
      }
      cur.steps.push(r.step);
      cur.values.push(r.value);
    }
  }
  return out;
}


/** Trials by status over the whole store. */
export function statusTotals(store: Store): StatusCounts {
  const totals: StatusCounts = { total: 0, pending: 0, running: 0, done: 0, failed: 0 };
  for (const r of store.db.select({ status: trials.status, n: sql<number>`count(*)` }).from(trials).groupBy(trials.status).all()) {
    totals[r.status] += r.n;
    totals.total += r.n;
  }
  return totals;
}

/** How many trials match a filter (the `listTrials` grammar; every trial without one). Throws `FilterError` on a bad filter. */
export function countTrials(store: Store, where?: string | readonly FilterComparison[]): number {
  const cond = where === undefined || (typeof where === 'string' && where.trim() === '') ? undefined : compileFilter(where);
  return store.db.select({ n: sql<number>`count(*)` }).from(trials).where(cond).get()?.n ?? 0;
}

/** Distinct summary keys in the store, sorted (read from the summary table's (key, final) index). */
export function summaryKeys(store: Store): string[] {
  return store.db
    .selectDistinct({ key: summary.key })
    .from(summary)
    .orderBy(summary.key)
    .all()
    .map((r) => r.key);
}

/** Per metric key, the most points any of the given trials recorded for it (sorted by key). */
export function metricKeyPoints(store: Store, trialIds: readonly number[]): { key: string; points: number }[] {
  if (trialIds.length === 0) return [];
  return store.sqlite
    .prepare(`SELECT key, max(n) AS points FROM (SELECT key, trial_id, count(*) AS n FROM metrics WHERE trial_id IN (SELECT value FROM json_each(?)) GROUP BY key, trial_id) GROUP BY key ORDER BY key`)
    .all(JSON.stringify([...trialIds])) as { key: string; points: number }[];
}

/** The configs of the given trials, by id. */
export function trialConfigs(store: Store, trialIds: readonly number[]): Map<number, Record<string, unknown>> {
  const out = new Map<number, Record<string, unknown>>();
  if (trialIds.length === 0) return out;
  for (const r of store.db.select({ id: trials.id, config: trials.config }).from(trials).where(inArray(trials.id, [...trialIds])).all()) {
    out.set(r.id, JSON.parse(r.config) as Record<string, unknown>);
  }
  return out;
}
