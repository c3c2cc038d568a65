import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
// Generous: the parent and one child each start node + tsx + tfjs, which takes tens of seconds
// on a loaded shared machine (a 50 s limit timed out there). Nothing here measures speed.
const TIMEOUT_MS = 300_000;
const run = (args: string[]) => spawnSync(process.execPath, ['--conditions=@orthoquant/source', '--import', 'tsx', MAIN, ...args], { encoding: 'utf8', timeout: TIMEOUT_MS, env: { ...process.env, ORTHOQUANT_LOG_LEVEL: 'error' } });

test('--quick --case runs one case end to end in a child process and writes the result file', { timeout: TIMEOUT_MS + 10_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-e2e-'));
  try {
    const r = run(['--quick', '--case', 'infer-int-hadamrnn-native', '--reps', '2', '--out-dir', dir]);
    assert.equal(r.status, 0, r.stderr);
    const files = readdirSync(join(dir, 'results'));
    assert.equal(files.length, 1);
    assert.match(files[0], /^\d{4}-\d{2}-\d{2}\.json$/);
    const j = JSON.parse(readFileSync(join(dir, 'results', files[0]), 'utf8'));
    assert.equal(j.quick, true);
    assert.equal(j.cases.length, 1);
    const c = j.cases[0];
    assert.equal(c.name, 'infer-int-hadamrnn-native');
    assert.equal(c.times.length, 2);
    assert.ok(c.median > 0 && c.min <= c.median && c.median <= c.max);
    assert.ok(c.peakRssMB > 10, `peak RSS ${c.peakRssMB}`);
    assert.ok(c.throughput.value > 0 && c.throughput.unit === 'sequences/s');
    assert.ok(['native', 'js'].includes(c.kernel.implementation), `kernel record ${JSON.stringify(c.kernel)}`);
    assert.ok(j.machine.cores >= 1 && j.machine.loadAverage.start.length === 3);
    assert.equal(j.targets.find((t: { id: string }) => t.id === 'integer-inference').verdict, 'unknown');
    assert.match(readFileSync(join(dir, 'RESULTS.md'), 'utf8'), /QUICK smoke run/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad flags exit 2 with a clear message', () => {
  const r = run(['--reps', 'x']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bench: --reps: expected an integer in 1\.\.1000, got 'x'/);
  const u = run(['--case', 'nope']);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /unknown case 'nope'/);
});
