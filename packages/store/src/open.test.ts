import test from 'node:test';
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openStore, resolveDbPath, listSweeps, MIGRATIONS_FOLDER, storeError, isStoreFault, registerSweep, claimTrial, recordMetrics, getTrial } from './index.js';
import { tempStore, trialInput } from './testing.js';
import { runFixture } from './test-fixtures/spawn.js';

test('resolveDbPath: explicit > ORTHOQUANT_DB > ./orthoquant.db', () => {
  const saved = process.env.ORTHOQUANT_DB;
  try {
    delete process.env.ORTHOQUANT_DB;
    assert.equal(resolveDbPath(), resolve('orthoquant.db'));
    process.env.ORTHOQUANT_DB = '/tmp/from-env.db';
    assert.equal(resolveDbPath(), '/tmp/from-env.db');
    assert.equal(resolveDbPath('x/y.db'), resolve('x/y.db'));
  } finally {
    if (saved === undefined) delete process.env.ORTHOQUANT_DB;
    else process.env.ORTHOQUANT_DB = saved;
  }
});

test('openStore: WAL, foreign keys, busy timeout, every table migrated; reopening is a no-op', () => {
  const t = tempStore();
  try {
    const s = t.store.sqlite;
    assert.equal(s.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(s.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(s.pragma('busy_timeout', { simple: true }), 30000);
    const names = (s.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
    for (const n of ['artifacts', 'metrics', 'provenance', 'summary', 'sweep_trials', 'sweeps', 'trials']) assert.ok(names.includes(n), `missing table ${n}`);
    const again = openStore(t.path);
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
    assert.equal((again.sqlite.prepare(`SELECT count(*) AS n FROM __drizzle_migrations`).get() as { n: number }).n, journal.entries.length, 'each migration applied once');
    again.close();
  } finally {
    t.cleanup();
  }
});

test('openStore: a file that is not a database gives an error naming it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orthoquant-bad-'));
  try {
    const file = join(dir, 'bad.db');
    writeFileSync(file, 'this is not sqlite '.repeat(100));
    assert.throws(
      () => openStore(file),
      (e: Error) => e.name === 'InputError' && e.message.startsWith(`store ${file}: not a usable SQLite database (file is not a database): the file is corrupt or of another kind; move it aside`),
    );
    assert.equal(readFileSync(file, 'utf8'), 'this is not sqlite '.repeat(100), 'nothing written to it');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('four processes opening one fresh file at once all migrate and write', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orthoquant-race-'));
  try {
    const db = join(dir, 'race.db');
    const go = join(dir, 'go');
    const runs = ['a', 'b', 'c', 'd'].map((n) => runFixture('open-race', [db, go, n]));
    await new Promise((r) => setTimeout(r, 1500));
    writeFileSync(go, '');
    await Promise.all(runs);
    const store = openStore(db);
    assert.deepEqual(
      listSweeps(store).map((s) => s.name).sort(),
      ['a', 'b', 'c', 'd'],
    );
    assert.equal((store.sqlite.prepare(`PRAGMA integrity_check`).get() as { integrity_check: string }).integrity_check, 'ok');
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('openStore: a store that cannot be written is a clear error naming the file (as a non-root user)', { skip: process.getuid?.() === 0 ? 'root writes read-only files' : false }, () => {
  const t = tempStore('orthoquant-ro-');
  try {
    t.store.close();
    chmodSync(t.path, 0o444);
    chmodSync(t.dir, 0o555);
    assert.throws(() => openStore(t.path), (e: Error) => e.name === 'InputError' && e.message.startsWith(`store ${t.path}: cannot `) && /make the file and its folder writable/.test(e.message));
  } finally {
    chmodSync(t.dir, 0o755);
    chmodSync(t.path, 0o644);
    t.cleanup();
  }
});

test('storeError: corrupt, read-only and full-disk errors say what to do; others keep their message', () => {
  const err = (code: string, message: string) => Object.assign(new Error(message), { code });
  assert.match(storeError('/x/a.db', 'write', err('SQLITE_CORRUPT', 'database disk image is malformed')).message, /^store \/x\/a\.db: not a usable SQLite database \(database disk image is malformed\)/);
  assert.match(storeError('/x/a.db', 'write', err('SQLITE_READONLY', 'attempt to write a readonly database')).message, /^store \/x\/a\.db: cannot write the store .*a\.db-wal and -shm/);
  assert.match(storeError('/x/a.db', 'write', err('SQLITE_FULL', 'database or disk is full')).message, /^store \/x\/a\.db: the disk is full .*run the same command again to continue/);
  const other = storeError('/x/a.db', 'open', err('SQLITE_BUSY', 'busy'));
  assert.equal(other.name, 'Error');
  assert.equal(other.message, 'store: cannot open /x/a.db: busy');
});

test('a read-only open of a store written by an older version says which migrations are missing (it cannot apply them)', () => {
  const t = tempStore();
  try {
    const newest = t.store.sqlite.prepare('SELECT * FROM __drizzle_migrations ORDER BY created_at DESC LIMIT 1').get() as Record<string, unknown>;
    t.store.sqlite.prepare('DELETE FROM __drizzle_migrations WHERE created_at = ?').run(newest.created_at);
    t.store.close();
    const tags = (JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] }).entries.map((e) => e.tag);
    assert.throws(() => openStore(t.path, { readonly: true }), new RegExp(`older orthoquant: schema migration ${tags.at(-1)} not applied, and a read-only open cannot apply them`));
    const raw = new Database(t.path);
    raw.prepare('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)').run(newest.hash, newest.created_at);
    raw.close();
    openStore(t.path, { readonly: true }).close();
  } finally {
    t.cleanup();
  }
});

test('a full disk (SQLITE_FULL): the write names the file, keeps nothing of its transaction, and works again once there is room', () => {
  const t = tempStore();
  try {
    const reg = registerSweep(t.store, { name: 'full', spec: 'spec', fingerprint: 'f', trials: [trialInput({ lr: 1 })] });
    const lease = claimTrial(t.store, { sweepId: reg.sweep.id, workerId: 'w', pid: 1, host: 'h' })!;
    const pages = t.store.sqlite.pragma('page_count', { simple: true }) as number;
    // the database may not grow past its current size: as if the disk had no room left
    t.store.sqlite.pragma(`max_page_count = ${pages}`);
    const points = Array.from({ length: 5000 }, (_, i) => ({ key: 'loss', step: i, value: 1 / (1 + i) }));
    let caught: unknown;
    try {
      recordMetrics(t.store, lease, points);
    } catch (e) {
      caught = e;
    }
    assert.ok(isStoreFault(caught), `expected a store fault, got ${String(caught)}`);
    assert.equal((caught as { code: string }).code, 'SQLITE_FULL');
    assert.equal((caught as Error).name, 'InputError');
    assert.match((caught as Error).message, new RegExp(`^store ${t.path}: the disk is full \\(database or disk is full\\): nothing partial was recorded`));
    assert.deepEqual(getTrial(t.store, lease.trialId).curves, [], 'no row of the failed batch was kept');
    assert.equal(t.store.sqlite.inTransaction, false);
    // room again: the same write goes through, once
    t.store.sqlite.pragma(`max_page_count = ${pages * 100}`);
    assert.equal(recordMetrics(t.store, lease, points), true);
    assert.deepEqual(getTrial(t.store, lease.trialId).curves, [{ key: 'loss', points: 5000, firstStep: 0, lastStep: 4999 }]);
  } finally {
    t.cleanup();
  }
});
