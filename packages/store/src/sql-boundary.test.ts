/**
 * The store owns every query: no other package's source (tests and fixtures included) holds SQL
 * text, reaches for the raw connection or the drizzle handle, or imports the SQL libraries.
 * Other packages read and write a store through its exported functions; their tests check rows
 * through `@orthoquant/store/testing`.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGES = fileURLToPath(new URL('../../', import.meta.url));
const REPO = join(PACKAGES, '..');

/** What counts as a query outside the store (comments are stripped first). */
const RULES: { name: string; re: RegExp }[] = [
  { name: 'SQL text', re: /\b(SELECT\s[\s\S]{0,200}?\bFROM\s|INSERT\s+(OR\s+\w+\s+)?INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|CREATE\s+(TABLE|INDEX|VIEW|TRIGGER)\s|DROP\s+(TABLE|INDEX)\s|PRAGMA\s+\w+|BEGIN\s+(IMMEDIATE|EXCLUSIVE|TRANSACTION)\b)/ },
  { name: 'the raw SQLite connection', re: /\.sqlite\s*\.\s*(prepare|exec|pragma|transaction|function|aggregate)\s*\(|\bstore\.sqlite\b/ },
  { name: 'the drizzle handle', re: /\bstore\.db\s*\./ },
  { name: 'an SQL library import', re: /from\s+['"](drizzle-orm[^'"]*|better-sqlite3)['"]|require\(\s*['"](drizzle-orm|better-sqlite3)/ },
];

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

export function findQueries(src: string): { rule: string; line: number; text: string }[] {
  const code = stripComments(src);
  const out: { rule: string; line: number; text: string }[] = [];
  for (const { name, re } of RULES) {
    const g = new RegExp(re.source, 'g');
    for (let m = g.exec(code); m; m = g.exec(code)) {
      const line = code.slice(0, m.index).split('\n').length;
      out.push({ rule: name, line, text: src.split('\n')[line - 1].trim().slice(0, 120) });
    }
  }
  return out;
}

function sources(dir: string, acc: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'build' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, acc);
    else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(name)) acc.push(p);
  }
  return acc;
}

test('the detector finds a query in each of its forms, and not in prose', () => {
  const found = (s: string) => findQueries(s).map((f) => f.rule);
  assert.deepEqual(found('const r = db.prepare(`SELECT id FROM trials WHERE status = ?`);'), ['SQL text']);
  assert.deepEqual(found("x.run(`UPDATE trials SET status = 'pending'`)"), ['SQL text']);
  assert.deepEqual(found('store.sqlite.pragma("journal_mode")'), ['the raw SQLite connection']);
  assert.deepEqual(found('const n = store.db.select().from(t).all();'), ['the drizzle handle']);
  assert.deepEqual(found("import { sql } from 'drizzle-orm';"), ['an SQL library import']);
  assert.deepEqual(found('// SELECT id FROM trials (a comment)\n/* UPDATE trials SET x */\nconst url = "redis://h:1"; // select the next trial from the queue'), []);
});

test('no SQL outside packages/store: every query is a store function', () => {
  const offences: string[] = [];
  for (const pkg of readdirSync(PACKAGES)) {
    if (pkg === 'store') continue;
    const src = join(PACKAGES, pkg, 'src');
    let files: string[];
    try {
      files = sources(src);
    } catch {
      continue;
    }
    for (const f of files) {
      const rel = relative(REPO, f);
      for (const q of findQueries(readFileSync(f, 'utf8'))) offences.push(`${rel}:${q.line}: ${q.rule}: ${q.text}`);
    }
  }
  assert.deepEqual(offences, [], `queries belong in packages/store (add a function there and call it):\n${offences.join('\n')}`);
});
