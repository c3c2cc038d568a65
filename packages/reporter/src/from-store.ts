/**
 * Paper tables straight from the experiment store: the done trials' summary values (the
 * summary table only, never the per-step metrics) fed to `buildTable`.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { listTrials, type Store, type TrialRow } from '@orthoquant/store';
import { loadTableSpec } from './spec.js';
import { loadPublished } from './published.js';
import { buildTable, type Table, type TrialRecord } from './table.js';

/** Store rows → the reporter's trial records (final and best of each summary key). */
export function trialRecords(rows: readonly TrialRow[]): TrialRecord[] {
  return rows.map((r) => ({
    id: r.id,
    status: r.status,
    config: r.config,
    summary: Object.fromEntries(Object.entries(r.summary).map(([k, v]) => [k, { final: v.final, best: v.best }])),
  }));
}

/**
 * The published-values file of a table: the spec's `published:` (relative to the spec), else
 * `<publishedDir>/<name>.yaml` when it exists (default: `../published` beside the tables folder).
 */
export function publishedFileFor(specFile: string, spec: { name: string; published?: string }, publishedDir?: string): string | null {
  if (spec.published) return resolve(dirname(specFile), spec.published);
  const p = join(publishedDir ?? resolve(dirname(specFile), '..', 'published'), `${spec.name}.yaml`);
  return existsSync(p) ? p : null;
}

/** Build the table of a spec file over the done trials in the store (optionally of one sweep). */
export function tableFromStore(store: Store, specFile: string, opts: { sweep?: string; publishedDir?: string } = {}): Table {
  const spec = loadTableSpec(specFile);
  const pubFile = publishedFileFor(specFile, spec, opts.publishedDir);
  const published = pubFile ? loadPublished(pubFile) : null;
  const rows = listTrials(store, { sweep: opts.sweep, where: 'status = done', summaryKeys: [...new Set(spec.columns.map((c) => c.metric))] });
  return buildTable(spec, trialRecords(rows), published);
}
