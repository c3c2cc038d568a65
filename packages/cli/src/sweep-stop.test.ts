/**
 * `orthoquant sweep run` stopped by SIGTERM (what `kill`, `timeout`, a service manager or a batch
 * system sends, to the coordinator alone) is the graceful stop Ctrl-C is: by the time the process
 * has exited, its workers are gone, the running trials are pending again with no error recorded,
 * the metrics they had are kept, and the exit code is 130 (interrupted). Ctrl-C goes the same way
 * (signals.ts: one handler for both).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSweep, listTrials, openStore, pidAlive, runningTrials } from '@orthoquant/store';
import { metricRowCount } from '@orthoquant/store/testing';
import { ROOT } from './test-fixtures/run-cli.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** The store's view of the sweep: its trials, the pids running them, and the metric rows of each. */
function look(db: string) {
  if (!existsSync(db)) return null;
  const s = openStore(db);
  try {
    if (!getSweep(s, 'stop')) return null;
    const trials = listTrials(s, { sweep: 'stop', summaryKeys: [] });
    return { trials, running: runningTrials(s), rows: trials.map((t) => metricRowCount(s, t.id)) };
  } finally {
    s.close();
  }
}

test('sweep run: SIGTERM to the coordinator is a graceful stop — workers gone, running trials pending without an error, exit 130', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oq-sweep-stop-'));
  let workers: number[] = [];
  try {
    // two trials that cannot finish before the stop (a budget of 10^5 epochs)
    const file = join(dir, 'stop.yaml');
    writeFileSync(file, 'name: stop\nbase:\n  task: { name: copy, T: 12, K: 4, trainSize: 64, valSize: 32, testSize: 32 }\n  batchSize: 16\n  budget: { epochs: 100000 }\n  model: { type: hadamrnn, hidden: 8, bits: 4 }\nseeds: [0, 1]\n');
    const db = join(dir, 'stop.db');
    const child = spawn(process.execPath, ['--conditions=@orthoquant/source', '--import', 'tsx', MAIN, 'sweep', 'run', file, '--db', db, '--workers', '2'], {
      cwd: ROOT,
      env: { ...process.env, ORTHOQUANT_BACKEND: 'wasm', ORTHOQUANT_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    try {
      // both trials under way, each with metric rows recorded
      const deadline = Date.now() + 180_000;
      for (;;) {
        const v = look(db);
        if (v && v.running.length === 2 && v.rows.every((n) => n > 0)) {
          workers = v.running.map((t) => t.pid!);
          break;
        }
        if (child.exitCode !== null || Date.now() > deadline) assert.fail(`the sweep never had both trials under way: ${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill('SIGTERM');
      const ex = await exited;
      assert.deepEqual(ex, { code: 130, signal: null }, out);
      assert.match(out, /SIGTERM: stopping — running trials go back to the queue/);
      assert.match(out, /sweep 'stop': 0\/2 done, 0 failed, 2 not finished/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    // the coordinator waited for its workers: none is left, and nothing is left running
    assert.equal(workers.length, 2);
    for (const pid of workers) assert.equal(pidAlive(pid), false, `worker ${pid} exited before its coordinator`);
    const after = look(db)!;
    assert.deepEqual(after.running, []);
    assert.deepEqual(
      after.trials.map((t) => [t.status, t.error]),
      [['pending', null], ['pending', null]],
      'the running trials were given back, not failed',
    );
    assert.ok(after.rows.every((n) => n > 0), `the metrics so far are kept: ${after.rows.join(', ')}`);
  } finally {
    // (a coordinator that died at once would leave its workers writing there: let them go first)
    for (let i = 0; i < 300 && workers.some((pid) => pidAlive(pid)); i++) await new Promise((r) => setTimeout(r, 100));
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
});
