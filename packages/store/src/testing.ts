/**
 * Test helpers for packages that use the store (kept out of the main barrel): throw-away
 * databases under the OS temp folder and small ready-made trial inputs.
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openStore, type Store } from './open.js';
import type { MetricPoint, TrialInput } from './trials.js';
import type { TrialMode } from './schema.js';

export interface TempStore {
  store: Store;
  /** The database file. */
  path: string;
  /** The folder holding it (for logs, checkpoints…). */
  dir: string;
  /** Close and delete everything. */
  cleanup(): void;
}

/** A fresh, migrated store in its own temp folder. */
export function tempStore(prefix = 'orthoquant-store-'): TempStore {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const path = join(dir, 'test.db');
  const store = openStore(path);
  return {
    store,
    path,
    dir,
    cleanup() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A trial input from a flat config (keys sorted for the JSON; hash = sha256 of it). Enough
 * for store tests; the sweep package has the real canonical form.
 */
export function trialInput(config: Record<string, unknown>, mode: TrialMode = 'qat'): TrialInput {
  const sorted = Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const configJson = JSON.stringify(sorted);
  return { config: sorted, configJson, hash: createHash('sha256').update(configJson).digest('hex'), mode };
}

/** A summary row written as is by `markDone` (bulk fixtures; trials normally get theirs from `finishTrial`). */
export interface SummaryRowInput {
  key: string;
  final: number;
  best: number;
  bestStep: number | null;
  n: number;
}

/**
 * Every trial of the store done at once, with the summary rows and metric points `fill` gives
 * it: one transaction, for fixtures of thousands of trials (claiming and finishing each would
 * take minutes).
 */
export function markDone(store: Store, fill: (trialId: number) => { summary: SummaryRowInput[]; metrics: MetricPoint[] }, now = Date.now()): void {
  store.write(() => {
    store.sqlite.prepare(`UPDATE trials SET status = 'done', attempts = 1, started_at = ?, finished_at = ?`).run(now - 60_000, now);
    const sum = store.sqlite.prepare(`INSERT INTO summary (trial_id, key, final, best, best_step, n) VALUES (?, ?, ?, ?, ?, ?)`);
    const met = store.sqlite.prepare(`INSERT INTO metrics (trial_id, key, step, value) VALUES (?, ?, ?, ?)`);
    const ids = store.sqlite.prepare(`SELECT id FROM trials ORDER BY id`).pluck().all() as number[];
    for (const id of ids) {
      const f = fill(id);
      for (const r of f.summary) sum.run(id, r.key, r.final, r.best, r.bestStep, r.n);
      for (const p of f.metrics) met.run(id, p.key, p.step, p.value);
    }
  });
}

// ---- read-only checks for tests of other packages (they hold no SQL: see sql-boundary.test.ts)

/** How many metric rows the given trials have (every trial's when omitted). */
export function metricRowCount(store: Store, trialIds?: number | readonly number[]): number {
  const ids = trialIds === undefined ? null : JSON.stringify(typeof trialIds === 'number' ? [trialIds] : [...trialIds]);
  return (store.sqlite.prepare(`SELECT count(*) AS n FROM metrics WHERE ? IS NULL OR trial_id IN (SELECT value FROM json_each(?))`).get(ids, ids) as { n: number }).n;
}

/** Metric rows recorded more than once for the same (trial, key, step): none in a healthy store. */
export function duplicateMetricRows(store: Store): { trial_id: number; key: string; step: number; c: number }[] {
  return store.sqlite.prepare('SELECT trial_id, key, step, count(*) AS c FROM metrics GROUP BY trial_id, key, step HAVING c > 1').all() as { trial_id: number; key: string; step: number; c: number }[];
}

/** Per trial and metric key: rows, distinct steps, first and last step (one trial's, or all trials'). */
export function metricSpans(store: Store, trialId?: number): { trialId: number; key: string; n: number; distinct: number; lo: number; hi: number }[] {
  return store.sqlite
    .prepare(`SELECT trial_id AS trialId, key, count(*) AS n, count(DISTINCT step) AS distinct_, min(step) AS lo, max(step) AS hi FROM metrics WHERE ? IS NULL OR trial_id = ? GROUP BY trial_id, key ORDER BY trial_id, key`)
    .all(trialId ?? null, trialId ?? null)
    .map((r) => {
      const { distinct_, ...rest } = r as { trialId: number; key: string; n: number; distinct_: number; lo: number; hi: number };
      return { ...rest, distinct: distinct_ };
    });
}

/** SQLite's own check of the file ('ok' when whole). */
export function integrityCheck(store: Store): string {
  return store.sqlite.pragma('integrity_check', { simple: true }) as string;
}

/** The database's size in pages. */
export function pageCount(store: Store): number {
  return store.sqlite.pragma('page_count', { simple: true }) as number;
}

/** A copy of a store without one of its tables (a damaged or foreign file, for error-path tests). */
export function dropTable(path: string, table: 'metrics' | 'summary' | 'artifacts' | 'provenance'): void {
  const db = new Database(path);
  try {
    db.exec(`DROP TABLE ${table}`);
  } finally {
    db.close();
  }
}

/**
 * A full disk for real: the environment that makes every Node process started with it (a sweep's
 * coordinator and its workers) cap each SQLite connection at `pages` pages (PRAGMA
 * max_page_count, see test-fixtures/quota.mjs), so writes past that fail with SQLITE_FULL.
 * `nodeOptions`: the NODE_OPTIONS to keep.
 */
export function fullDiskEnv(pages: number, nodeOptions = ''): { NODE_OPTIONS: string; ORTHOQUANT_TEST_STORE_PAGES: string } {
  const preload = pathToFileURL(fileURLToPath(new URL('./test-fixtures/quota.mjs', import.meta.url))).href;
  return { NODE_OPTIONS: `${nodeOptions} --import=${preload}`.trim(), ORTHOQUANT_TEST_STORE_PAGES: String(pages) };
}
