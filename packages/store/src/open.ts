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
import { basename, dirname, resolve } from 'node:path';
import { InputError, setting } from '@orthoquant/runtime';
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
  const chosen = explicit && explicit !== '' ? explicit : (setting('db') ?? DEFAULT_DB_FILE);
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

  /**
   * Run `fn` inside `BEGIN IMMEDIATE … COMMIT` (rolled back if it throws). A store that cannot
   * take the write (full disk, read-only or corrupt file) throws `storeError`'s message naming
   * the file, with `storeFault: true` (see `isStoreFault`); nothing of `fn` is kept.
   */
  write<T>(fn: () => T): T {
    try {
      return this.sqlite.transaction(fn).immediate();
    } catch (e) {
      throw !isStoreFault(e) && faultKind(e) ? storeError(this.path, 'write', e) : e;
    }
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
    throw storeError(file, 'open', e);
  }
  try {
    if (!opts.readonly) {
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
    }
    sqlite.pragma('foreign_keys = ON');
    // reads the schema page: a file that is not a database fails here, naming the file
    sqlite.prepare('SELECT count(*) FROM sqlite_master').get();
    const store = new Store(sqlite, file);
    if (!opts.readonly) applyMigrations(store);
    else checkSchemaCurrent(store);
    return store;
  } catch (e) {
    sqlite.close();
    throw storeError(file, 'prepare', e);
  }
}

/**
 * What went wrong with the store file, in words that say what to do: a corrupt file or one that
 * is not a database, a file or folder that cannot be written, a full disk (bad input: the CLI
 * prints it without a stack trace and exits 2); anything else as it came, naming the file.
 */
export function storeError(file: string, doing: 'open' | 'prepare' | 'write', e: unknown): Error {
  const code = (e as { code?: string }).code ?? '';
  const msg = (e as Error).message ?? String(e);
  const fault = (message: string) => Object.assign(new InputError(message, `store ${file}`), { code, storeFault: true as const });
  switch (faultKind(e)) {
    case 'corrupt':
      return fault(`not a usable SQLite database (${msg}): the file is corrupt or of another kind; move it aside (nothing was written to it), or pass another --db`);
    case 'readonly':
      return fault(`cannot ${doing === 'open' ? 'open' : 'write'} the store (${msg}): make the file and its folder writable (SQLite writes ${basename(file)}-wal and -shm beside it), or pass another --db`);
    case 'full':
      return fault(`the disk is full (${msg}): nothing partial was recorded (each write is one transaction); free some space and run the same command again to continue`);
    default:
      return new Error(`store: cannot ${doing} ${file}: ${msg}`, { cause: e });
  }
}

/** Which of the store faults a user can fix (and then run the same command again) `e` is, if any. */
function faultKind(e: unknown): 'corrupt' | 'readonly' | 'full' | null {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) return 'corrupt';
  if (code.startsWith('SQLITE_READONLY') || code === 'EACCES' || code === 'EROFS' || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM')) return 'readonly';
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return 'full';
  return null;
}

/**
 * Whether `e` says the store itself cannot be written (full disk, read-only or corrupt file, as
 * `Store.write` and `openStore` report it) rather than that one trial went wrong: a sweep stops
 * on it with that message, and gives its running trials back instead of failing them.
 */
export function isStoreFault(e: unknown): e is Error & { code: string; storeFault: true } {
  return e instanceof Error && (e as { storeFault?: unknown }).storeFault === true;
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
 * A read-only open cannot migrate: a store written by an older version would fail later on
 * a missing column, so say what is wrong now.
 */
function checkSchemaCurrent(store: Store): void {
  const done = appliedUpTo(store);
  const entries = journal();
  const missing = entries.filter((e) => done === null || e.when > done).map((e) => e.tag);
  if (missing.length) {
    throw new Error(
      `the store was written by an older orthoquant: schema migration${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not applied, and a read-only open cannot apply them. ` +
        `Any command of this version that writes the store (sweep run, sweep resume) migrates it; to leave the file untouched, read a migrated copy (sqlite3 FILE ".backup COPY")`,
    );
  }
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
      if (attempt >= 4) {
        // drizzle wraps SQLite's error (with the query text): say what SQLite said, keep its code
        const sqliteError = ((e as { cause?: unknown }).cause ?? e) as Error & { code?: string };
        const code = (e as { code?: string }).code ?? sqliteError.code;
        throw Object.assign(new Error(`migration failed: ${sqliteError.message}`, { cause: e }), { code });
      }
    }
  }
}
