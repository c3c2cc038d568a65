import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openStore, resolveDbPath, listSweeps, MIGRATIONS_FOLDER } from './index.js';
import { tempStore } from './testing.js';
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
    assert.throws(() => openStore(file), new RegExp(`store: cannot (open|prepare) ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
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
