import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, setting } from '@orthoquant/runtime';
import { openStore } from '@orthoquant/store';
import { tableFromStore, type Table } from '@orthoquant/reporter';

/**
 * `configs/<what>` of the working directory when it has one (a researcher's own tables),
 * else the repository's (the CLI runs from any directory).
 */
function configsDir(what: 'tables' | 'published'): string {
  const local = join('configs', what);
  return existsSync(local) ? local : fileURLToPath(new URL(`../../../../configs/${what}`, import.meta.url));
}

export const TABLES_DIR = setting('tablesDir') ?? configsDir('tables');
export const PUBLISHED_DIR = setting('publishedDir') ?? configsDir('published');

/** Table names available in the tables folder. */
export function tableNames(dir = TABLES_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .map((f) => f.replace(/\.ya?ml$/, ''))
    .sort();
}

/** A table name (configs/tables/NAME.yaml) or a path to a spec file. */
export function resolveTableSpec(nameOrPath: string): string {
  if (existsSync(nameOrPath) && /\.ya?ml$/.test(nameOrPath)) return nameOrPath;
  for (const ext of ['.yaml', '.yml']) {
    const p = join(TABLES_DIR, nameOrPath + ext);
    if (existsSync(p)) return p;
  }
  const known = tableNames();
  throw new InputError(`no table '${nameOrPath}' in ${resolve(TABLES_DIR)}${known.length ? ` (known: ${known.join(', ')})` : ''}`, '--table');
}

/** Build a table from the store: every recorded trial is a candidate, the spec's filters decide. */
export function tableFromDb(dbPath: string, tableNameOrPath: string, opts: { sweep?: string } = {}): Table {
  const store = openStore(dbPath, { readonly: true });
  try {
    return tableFromStore(store, resolveTableSpec(tableNameOrPath), { sweep: opts.sweep, publishedDir: PUBLISHED_DIR });
  } finally {
    store.close();
  }
}
