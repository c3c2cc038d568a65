/**
 * Table specs: a paper table described as data (configs/tables/*.yaml).
 *
 * - rows: labelled filters on the trial config (`where: { model.kind: qornn, model.bits: 4 }`),
 *   optionally multiplied over a key (`for: { key: model.bits, values: [3, 4, 5] }` with
 *   `{value}` in the label);
 * - columns: a filter (`where`), a metric from the summary table and which value (`final` or
 *   `best`), a number format;
 * - a cell = the done trials matching row ∧ column, aggregated over seeds (mean ± std, n).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InputError, parseYamlWith } from '@orthoquant/runtime';

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const where = z.record(z.string(), z.union([scalar, z.array(scalar)])).default({});

const rowSchema = z
  .object({
    label: z.string().min(1),
    where,
    for: z.object({ key: z.string().min(1), values: z.array(scalar).min(1) }).strict().optional(),
  })
  .strict();

const formatSchema = z
  .object({
    digits: z.number().int().min(0).max(10).default(3),
    percent: z.boolean().default(false),
    /** Bold the best mean of the column in Markdown/LaTeX. */
    better: z.enum(['higher', 'lower']).optional(),
  })
  .strict();

const columnSchema = z
  .object({
    label: z.string().min(1),
    where,
    metric: z.string().min(1),
    stat: z.enum(['final', 'best']).default('final'),
    format: formatSchema.default({ digits: 3, percent: false }),
  })
  .strict();

export const tableSpecSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
    title: z.string().min(1),
    description: z.string().optional(),
    /** Filters every cell shares (e.g. the sweep's name). */
    where,
    rows: z.array(rowSchema).min(1),
    columns: z.array(columnSchema).min(1),
    /** Show mean ± std (n) or the mean alone. */
    aggregate: z.enum(['mean_std', 'mean', 'median']).default('mean_std'),
    /** A published-values file (relative to the spec), see `loadPublished`. */
    published: z.string().optional(),
  })
  .strict();

export type TableSpec = z.infer<typeof tableSpecSchema>;
export type RowSpec = z.infer<typeof rowSchema>;
export type ColumnSpec = z.infer<typeof columnSchema>;
export type Where = z.infer<typeof where>;

/** A concrete row after `for:` expansion. */
export interface ResolvedRow {
  label: string;
  where: Where;
}

export function resolveRows(spec: TableSpec): ResolvedRow[] {
  const out: ResolvedRow[] = [];
  for (const r of spec.rows) {
    if (!r.for) {
      out.push({ label: r.label, where: r.where });
      continue;
    }
    for (const v of r.for.values) {
      out.push({ label: r.label.replaceAll('{value}', String(v)), where: { ...r.where, [r.for.key]: v } });
    }
  }
  return out;
}

export function parseTableSpec(text: string, file = '<table spec>'): TableSpec {
  return parseYamlWith(text, file, tableSpecSchema);
}

export function loadTableSpec(file: string): TableSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read table spec (${(err as NodeJS.ErrnoException).code ?? String(err)})`, file);
  }
  return parseTableSpec(text, file);
}
