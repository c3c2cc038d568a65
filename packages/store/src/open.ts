/**
 * Opening the store: one SQLite file shared by the coordinator, its workers, the reporter
 * and the dashboard, possibly all at once.
 *
 * - Path: explicit argument > `ORTHOQUANT_DB` > `./orthoquant.db`.
 * - WAL journal (readers never block the writer), `busy_timeout` (writers queue instead of
 *   failing), `synchronous=NORMAL` (in WAL mode a power loss may drop the last commits, never
 *   corrupts), foreign keys on.
 * - Every write that reads first runs as `BEGIN IMMEDIATE` (see `Store.write`), so no
 *   transaction ever has to upgrade a read lock, the case where SQLite gives up with
 *   SQLITE_BUSY without waiting.
 * - Migrations (drizzle-kit output in `../drizzle`, next to `src/` and `dist/`) are applied
 *   with drizzle's migrator at open.
 */
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { schema } from './schema.js';

export const DEFAULT_DB_FILE = 'orthoquant.db';
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../drizzle', import.meta.url));

export type StoreDb = BetterSQLite3Database<typeof schema>;

export interface OpenStoreOptions {
  /** How long a writer waits for the lock before failing (ms). Default 30 000. */
  busyTimeoutMs?: number;
  /** Open read-only (no migrations; the file must exist). */
  readonly?: boolean;
}

/** Explicit path > `ORTHOQUANT_DB` > `./orthoquant.db`, made absolute against the cwd. */
export function resolveDbPath(explicit?: string | null): string {
  const chosen = explicit && explicit !== '' ? explicit : process.env.ORTHOQUANT_DB && process.env.ORTHOQUANT_DB !== '' ? process.env.ORTHOQUANT_DB : DEFAULT_DB_FILE;
  return chosen === ':memory:' ? chosen : resolve(chosen);
}

export class Store {
  /** Typed drizzle handle. */
  readonly db: StoreDb;
  /** The raw connection, for hot paths and pragmas. */
  readonly sqlite: Database.Database;
  /** Absolute path of the database file (or `:memory:`). */
  readonly path: string;

  constructor(sqlite: Database.Database, path: string) {
    this.sqlite = sqlite;
    this.path = path;
    this.db = drizzle(sqlite, { schema });
  }

  /** Run `fn` inside `BEGIN IMMEDIATE … COMMIT` (rolled back if it throws). */
  write<T>(fn: () => T): T {
    return this.sqlite.transaction(fn).immediate();
  }

  close(): void {
    if (this.sqlite.open) this.sqlite.close();
  }
}

/** Open (creating if needed) and migrate the store. */
export function openStore(path?: string | null, opts: OpenStoreOptions = {}): Store {
  const file = resolveDbPath(path);
  if (file !== ':memory:') {
    if (opts.readonly && !existsSync(file)) throw new Error(`store: database ${file} does not exist`);
    mkdirSync(dirname(file), { recursive: true });
  }
  let sqlite: Database.Database;
  try {
    sqlite = new Database(file, { readonly: opts.readonly ?? false, timeout: opts.busyTimeoutMs ?? 30_000 });
  } catch (e) {
    throw new Error(`store: cannot open ${file}: ${(e as Error).message}`);
  }
  try {
    if (!opts.readonly) {
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
    }
    sqlite.pragma('foreign_keys = ON');
    const store = new Store(sqlite, file);
    if (!opts.readonly) applyMigrations(store);
    return store;
  } catch (e) {
    sqlite.close();
    throw new Error(`store: cannot prepare ${file}: ${(e as Error).message}`);
  }
}

interface JournalEntry {
  tag: string;
  when: number;
}

function journal(): JournalEntry[] {
  const file = `${MIGRATIONS_FOLDER}/meta/_journal.json`;
  if (!existsSync(file)) throw new Error(`migrations not found at ${MIGRATIONS_FOLDER} (is the package's drizzle/ folder shipped?)`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { entries: JournalEntry[] }).entries;
}

/** The newest migration recorded in the database, or null. */
function appliedUpTo(store: Store): number | null {
  const has = store.sqlite.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'`).get();
  if (!has) return null;
  const row = store.sqlite.prepare(`SELECT max(created_at) AS m FROM __drizzle_migrations`).get() as { m: number | null };
  return row.m === null ? null : Number(row.m);
}

/**
 * drizzle's migrator reads the last applied migration before it takes the write lock, so two
 * processes opening a fresh file together can both try to create the tables; the loser's
 * transaction rolls back and it simply finds the work done on the next look.
 */
function applyMigrations(store: Store): void {
  const newest = Math.max(...journal().map((e) => e.when));
  for (let attempt = 0; ; attempt++) {
    const done = appliedUpTo(store);
    if (done !== null && done >= newest) return;
    try {
      migrate(store.db, { migrationsFolder: MIGRATIONS_FOLDER });
      return;
    } catch (e) {
      const now = appliedUpTo(store);
      if (now !== null && now >= newest) return;
      if (attempt >= 4) throw new Error(`migration failed: ${(e as Error).message}`);
    }
  }
}
