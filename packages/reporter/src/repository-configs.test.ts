// The table specs and published-value files shipped in configs/ parse, and every published
// value names a row and a column that its table has (a typo would silently show "—").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadTableSpec, loadPublished, resolveRows } from './index.js';

const CONFIGS = fileURLToPath(new URL('../../../configs/', import.meta.url));

test('every configs/tables spec parses and its published file matches its rows and columns', () => {
  const specs = readdirSync(join(CONFIGS, 'tables')).filter((f) => f.endsWith('.yaml'));
  assert.ok(specs.length >= 5, `expected the paper tables and the quickstart, found ${specs.join(', ')}`);
  for (const f of specs) {
    const spec = loadTableSpec(join(CONFIGS, 'tables', f));
    assert.equal(`${spec.name}.yaml`, f, 'file name = table name');
    const pubFile = join(CONFIGS, 'published', f);
    const published = loadPublished(pubFile);
    assert.ok(published, `${pubFile} exists (a template users fill in)`);
    assert.equal(published.table, spec.name);
    const rows = new Set(resolveRows(spec).map((r) => r.label));
    const cols = new Set(spec.columns.map((c) => c.label));
    const raw = (loadPublishedValues(pubFile) ?? {}) as Record<string, Record<string, unknown> | null>;
    for (const [row, values] of Object.entries(raw)) {
      assert.ok(rows.has(row), `${pubFile}: row '${row}' is not a row of ${spec.name}`);
      for (const col of Object.keys(values ?? {})) assert.ok(cols.has(col), `${pubFile}: column '${col}' is not a column of ${spec.name}`);
    }
  }
});

function loadPublishedValues(file: string): unknown {
  return (parse(readFileSync(file, 'utf8')) as { values?: unknown }).values;
}
