/**
 * The local sweep survives kill -9 of its coordinator (the workers notice, give their trials
 * back, exit), once and ten times over. Resumed, every trial ends done exactly once, with no
 * duplicate metric rows. Killing everything at once (power loss) and SIGTERM are the executor
 * contract's (local.test.ts).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, listTrials, runningTrials, getSweep, type Store } from '@orthoquant/store';
import { runSweep } from './index.js';
import { FAKE_TRAINER } from './testing.js';
import { sandbox, startCoordinator, waitFor, pidGone, withCompletionLog } from './test-fixtures/helpers.js';
import { integrityCheck, metricRowCount } from '@orthoquant/store/testing';
import { assertAllDoneOnce, assertNoStepGaps } from './test-fixtures/contract.js';

const N = 8;
const STEPS = 30;
const SWEEP = `
name: k
parameters:
  id: { values: [${Array.from({ length: N / 2 }, (_, i) => `t${i}`).join(', ')}] }
  steps: { value: ${STEPS} }
  stepMs: { value: 25 }
seeds: [0, 1]
`;

function counts(store: Store): { done: number; running: number; metricsOfRunning: number } {
  const rows = listTrials(store, { sweep: 'k', summaryKeys: [] });
  const running = rows.filter((r) => r.status === 'running').map((r) => r.id);
  const m = running.length ? metricRowCount(store, running) : 0;
  return { done: rows.filter((r) => r.status === 'done').length, running: running.length, metricsOfRunning: m };
}

function assertCompleteAndUnique(store: Store): void {
  assertAllDoneOnce(store, 'k', N, STEPS);
  assertNoStepGaps(store, 'k', STEPS);
  for (const r of listTrials(store, { sweep: 'k' })) assert.equal(r.summary.loss.n, STEPS);
  assert.equal(integrityCheck(store), 'ok');
}

test('coordinator killed with SIGKILL mid-run, then resumed: every trial done exactly once', async () => {
  const sb = sandbox('orthoquant-kill-');
  const completions = join(sb.dir, 'completions.log');
  try {
    const file = sb.write('k.yaml', SWEEP);
    const c = startCoordinator(sb.db, file, 2, { FAKE_TRAINER_LOG: completions });
    // kill once some trials are done and others are mid-run with metrics recorded
    await waitFor('a sweep under way', () => {
      if (!existsSync(sb.db) || !c.output().includes('claimed')) return false;
      const s = openStore(sb.db);
      try {
        const k = counts(s);
        return k.done >= 2 && k.running >= 1 && k.metricsOfRunning > 0;
      } finally {
        s.close();
      }
    });
    const workerPids = (() => {
      const s = openStore(sb.db);
      try {
        return runningTrials(s).map((t) => t.pid!);
      } finally {
        s.close();
      }
    })();
    c.child.kill('SIGKILL');
    await c.exited;
    // orphaned workers notice the closed IPC channel, release their trials and exit
    await waitFor('the workers to exit', () => workerPids.every(pidGone), 15_000);
    let s = openStore(sb.db);
    const mid = counts(s);
    assert.ok(mid.done < N, 'killed before the end');
    assert.equal(mid.running, 0, 'workers released their trials');
    s.close();

    // the resumed run's workers log completions too
    const r = await withCompletionLog(completions, () => runSweep({ dbPath: sb.db, file, workers: 2, runnerModule: FAKE_TRAINER, heartbeatMs: 200 }));
    assert.deepEqual([r.done, r.failed, r.pending, r.alreadyDone], [N, 0, 0, mid.done]);
    s = openStore(sb.db);
    try {
      assertCompleteAndUnique(s);
      // each config ran to completion exactly once across both runs
      const lines = readFileSync(completions, 'utf8').trim().split('\n');
      const perTrial = new Map<string, number>();
      for (const l of lines) perTrial.set(l, (perTrial.get(l) ?? 0) + 1);
      assert.equal(lines.length, N, `completions: ${lines.join(' ')}`);
      assert.deepEqual([...perTrial.values()], Array(N / 2).fill(2), 'each id ran to completion once per seed');
      const attempts = listTrials(s, { summaryKeys: [] }).reduce((a, t) => a + t.attempts, 0);
      assert.ok(attempts > N, 'some trial was interrupted and claimed again');
      assert.equal(getSweep(s, 'k')!.name, 'k');
    } finally {
      s.close();
    }
  } finally {
    sb.cleanup();
  }
});

test('10 SIGKILLs of the coordinator at random moments, each followed by a resume: every trial done exactly once, metric rows without duplicates or gaps', async () => {
  const KILLS = 10;
  const M = 12;
  const STEPS_R = 80;
  const sb = sandbox('orthoquant-kills-');
  const completions = join(sb.dir, 'completions.log');
  const started = Date.now();
  try {
    const file = sb.write(
      'r.yaml',
      `name: r\nparameters:\n  id: { values: [${Array.from({ length: M / 2 }, (_, i) => `r${i}`).join(', ')}] }\n  steps: { value: ${STEPS_R} }\n  stepMs: { value: 20 }\n  checkpointEvery: { value: 7 }\nseeds: [0, 1]\n`,
    );
    let killedWithRunning = 0;
    for (let k = 0; k < KILLS; k++) {
      const c = startCoordinator(sb.db, file, 2, { FAKE_TRAINER_LOG: completions });
      // a random moment once the coordinator has its workers claiming (or it finished first)
      await waitFor('the coordinator to start its trials', () => /claimed|result/.test(c.output()) || c.child.exitCode !== null, 60_000);
      await new Promise((r) => setTimeout(r, Math.random() * 1500));
      const s0 = openStore(sb.db);
      const pids = runningTrials(s0).map((t) => t.pid!);
      s0.close();
      if (pids.length) killedWithRunning++;
      c.child.kill('SIGKILL');
      await c.exited;
      await waitFor('the orphaned workers to exit', () => pids.every(pidGone), 15_000);
    }
    const r = await withCompletionLog(completions, () => runSweep({ dbPath: sb.db, file, workers: 2, runnerModule: FAKE_TRAINER, heartbeatMs: 200 }));
    assert.deepEqual([r.done, r.failed, r.pending, r.running], [M, 0, 0, 0]);
    const s = openStore(sb.db);
    try {
      const rows = listTrials(s, { sweep: 'r', summaryKeys: [] });
      assert.deepEqual([...new Set(rows.map((x) => x.status))], ['done']);
      // exactly once: each (id, seed) ran to completion once over all the runs
      const lines = readFileSync(completions, 'utf8').trim().split('\n');
      assert.equal(lines.length, M, `completions: ${lines.join(' ')}`);
      for (const id of new Set(lines)) assert.equal(lines.filter((l) => l === id).length, 2, `${id}: once per seed`);
      // per trial and key: steps without a duplicate or a gap
      assertNoStepGaps(s, 'r', STEPS_R);
      assert.equal(rows.length, M);
      assert.equal(integrityCheck(s), 'ok');
      const attempts = listTrials(s, { summaryKeys: [] }).reduce((a, t) => a + t.attempts, 0);
      console.log(`# ${KILLS} coordinator SIGKILLs (${killedWithRunning} with trials running), ${M} trials, ${attempts} claims in all, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      s.close();
    }
  } finally {
    sb.cleanup();
  }
});
