/**
 * Published values: numbers from the papers, typed in by a user (configs/published/*.yaml).
 * The papers' tables could not be retrieved for this project, so these files start empty:
 * a cell with no published value shows "—", never an invented number.
 *
 * ```yaml
 * table: quickstart            # the table spec's name
 * source: "Foucault et al. 2025, Table 3"
 * values:
 *   "HadamRNN":                # row label
 *     "sMNIST test acc": 0.981 # column label: value in the metric's own unit (0.981, not 98.1)
 * ```
 */
import { readFileSync, existsSync } from 'node:fs';
import { z } from 'zod';
import { parseYamlWith } from '@orthoquant/runtime';

export const publishedSchema = z
  .object({
    table: z.string().min(1),
    source: z.string().nullable().optional(),
    values: z.record(z.string(), z.record(z.string(), z.number().nullable()).nullable()).nullable().default({}),
  })
  .strict();

export interface Published {
  table: string;
  source?: string;
  /** row label → column label → value. */
  get(row: string, column: string): number | null;
  /** How many values are filled in. */
  count: number;
}

export function parsePublished(text: string, file: string): Published {
  const p = parseYamlWith(text, file, publishedSchema);
  const values = p.values ?? {};
  let count = 0;
  for (const r of Object.values(values)) for (const v of Object.values(r ?? {})) if (v !== null) count++;
  return {
    table: p.table,
    source: p.source ?? undefined,
    count,
    get: (row, column) => values[row]?.[column] ?? null,
  };
}

/** Load a published-values file; a missing file means "nothing published" (null). */
export function loadPublished(file: string): Published | null {
  if (!existsSync(file)) return null;
  return parsePublished(readFileSync(file, 'utf8'), file);
}
