#!/usr/bin/env node
// Runs one package's tests (src/**/*.test.ts) with Node's test runner, straight from the
// TypeScript sources: workspace packages resolve to src/ through the "@orthoquant/source"
// export condition, tsx compiles on the fly. Usage (from a package folder):
//   node ../../scripts/run-tests.mjs [filter-substring ...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = process.cwd();
const filters = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(relative(root, p));
  }
})(join(root, 'src'));
files.sort();
const chosen = filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files;
if (chosen.length === 0) {
  console.error(`run-tests: no test files under ${join(root, 'src')}${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(1);
}
const args = [
  '--conditions=@orthoquant/source',
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=1',
  '--test-reporter=spec',
  ...chosen,
];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, ORTHOQUANT_LOG_LEVEL: process.env.ORTHOQUANT_LOG_LEVEL ?? 'warn' } });
process.exit(r.status ?? 1);
