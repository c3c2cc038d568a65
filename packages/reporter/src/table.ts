/**
 * Build a table from trial records: match, aggregate over seeds, compare with published.
 */
import type { TableSpec, Where } from './spec.js';
import { resolveRows } from './spec.js';
import { getPath } from '@orthoquant/runtime';
import type { Published } from './published.js';

/** What the reporter needs of a trial (the store's list query gives this). */
export interface TrialRecord {
  id: number | string;
  status: string;
  config: Record<string, unknown>;
  /** metric → final and best value. */
  summary: Record<string, { final: number | null; best: number | null }>;
}

export interface Cell {
  values: number[];
  n: number;
  mean: number | null;
  std: number | null;
  median: number | null;
  trialIds: (number | string)[];
  published: number | null;
  /** mean − published, when both exist. */
  delta: number | null;
  best: boolean;
}

export interface Table {
  spec: TableSpec;
  rows: string[];
  columns: string[];
  cells: Cell[][];
  publishedSource?: string;
  hasPublished: boolean;
}

/** A config matches when every key equals the value (or one of the listed values); null = absent. */
export function matches(config: Record<string, unknown>, where: Where): boolean {
  for (const [key, want] of Object.entries(where)) {
    const have = getPath(config, key);
    const options = Array.isArray(want) ? want : [want];
    const ok = options.some((w) => (w === null ? have === undefined || have === null : have === w));
    if (!ok) return false;
  }
  return true;
}

export function buildTable(spec: TableSpec, trials: readonly TrialRecord[], published?: Published | null): Table {
  const rows = resolveRows(spec);
  const done = trials.filter((t) => t.status === 'done' && matches(t.config, spec.where));
  const cells = rows.map((row) =>
    spec.columns.map((col): Cell => {
      const hits = done.filter((t) => matches(t.config, row.where) && matches(t.config, col.where));
      const values: number[] = [];
      const ids: (number | string)[] = [];
      for (const t of hits) {
        const v = t.summary[col.metric]?.[col.stat];
        if (typeof v === 'number' && Number.isFinite(v)) {
          values.push(v);
          ids.push(t.id);
        }
      }
      const pub = published?.get(row.label, col.label) ?? null;
      const mean = values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
      const std = values.length > 1 && mean !== null ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)) : values.length === 1 ? 0 : null;
      const sorted = [...values].sort((a, b) => a - b);
      const median = sorted.length ? (sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2) : null;
      const center = spec.aggregate === 'median' ? median : mean;
      return { values, n: values.length, mean, std, median, trialIds: ids, published: pub, delta: center !== null && pub !== null ? center - pub : null, best: false };
    }),
  );
  spec.columns.forEach((col, j) => {
    if (!col.format.better) return;
    const sign = col.format.better === 'higher' ? 1 : -1;
    let bestVal = -Infinity;
    for (const r of cells) {
      const c = spec.aggregate === 'median' ? r[j].median : r[j].mean;
      if (c !== null) bestVal = Math.max(bestVal, sign * c);
    }
    for (const r of cells) {
      const c = spec.aggregate === 'median' ? r[j].median : r[j].mean;
      if (c !== null && sign * c === bestVal) r[j].best = true;
    }
  });
  return {
    spec,
    rows: rows.map((r) => r.label),
    columns: spec.columns.map((c) => c.label),
    cells,
    publishedSource: published?.source,
    hasPublished: Boolean(published && published.count > 0),
  };
}
