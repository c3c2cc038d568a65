import test from 'node:test';
import assert from 'node:assert/strict';
import { openStore, listTrials, getTrial, sweepStatus as storeStatus } from '@orthoquant/store';
import { runSweep, sweepStatus, SweepChangedError, type SweepProgress } from './index.js';
import { workerEnv } from './scheduler.js';
import { FAKE_TRAINER } from './testing.js';
import { sandbox } from './test-fixtures/helpers.js';
import { metricRowCount } from '@orthoquant/store/testing';

const SWEEP = (extra = '') => `
name: s
parameters:
  id: { values: [a, b, c] }
  steps: { value: 10 }
  stepMs: { value: 10 }
  checkpointEvery: { value: 5 }
seeds: [0, 1]
include:
  - { id: bad, failAt: 4, seed: 0 }
${extra}`;

test('a failing trial is recorded with its error while the others complete; a re-run runs nothing done', async () => {
  const sb = sandbox();
  try {
    const file = sb.write('s.yaml', SWEEP());
    const events: SweepProgress[] = [];
    const r = await runSweep({ dbPath: sb.db, file, workers: 2, runnerModule: FAKE_TRAINER, heartbeatMs: 200, onProgress: (p) => events.push(p) });
    assert.deepEqual([r.total, r.done, r.failed, r.pending, r.running, r.ranThisRun, r.stopped], [7, 6, 1, 0, 0, 7, null]);
    assert.equal(r.failures.length, 1);
    assert.match(r.failures[0].error, /fake trainer: diverged at step 4/);
    assert.equal(r.failures[0].label, 'include: id=bad failAt=4 seed=0');
    assert.ok(events.some((e) => e.event?.type === 'failed'));
    assert.ok(events.some((e) => e.event?.type === 'claimed' && e.trials.length > 0));
    assert.ok(events.some((e) => e.etaMs !== null));
    assert.equal(events.at(-1)!.done, 6);

    const store = openStore(sb.db);
    try {
      const rows = listTrials(store, { sweep: 's' });
      const bad = rows.find((t) => t.config.id === 'bad')!;
      assert.equal(bad.status, 'failed');
      assert.match(bad.error!, /diverged at step 4/);
      for (const t of rows.filter((x) => x.status === 'done')) {
        // 10 steps × (loss, acc) + 2 epochs × (val_acc, epoch)
        const n = metricRowCount(store, t.id);
        assert.equal(n, 24, `trial ${t.id} metric rows`);
        assert.equal(t.summary.test_acc.final, 1 - 0.1 - (t.config.seed as number) / 1000);
        assert.deepEqual(t.summary.loss.n, 10);
        const d = getTrial(store, t.id);
        // checkpoints at steps 5 and 10; a finished trial keeps only its last (pruning is the default)
        assert.deepEqual(
          d.artifacts.filter((a) => a.kind === 'checkpoint').map((a) => [a.step, a.bytes]),
          [[10, 17]],
        );
        assert.equal(d.provenance?.backend, 'fake');
        assert.equal(d.provenance?.packageVersion, '0.1.0');
        assert.match(d.provenance?.gitCommit ?? '', /^[0-9a-f]{40}$/);
      }
      // the failed trial's partial metrics (steps 0..3) are kept
      assert.equal(metricRowCount(store, bad.id), 8);
    } finally {
      store.close();
    }

    const again = await runSweep({ dbPath: sb.db, file, workers: 2, runnerModule: FAKE_TRAINER, retryFailed: false });
    assert.deepEqual([again.ranThisRun, again.alreadyDone, again.done, again.failed], [0, 6, 6, 1]);
  } finally {
    sb.cleanup();
  }
});

test('fail-fast stops the sweep at the first failure and leaves the rest pending', async () => {
  const sb = sandbox();
  try {
    // put the failing trial first
    const text = `name: ff\nparameters:\n  failAt: { values: [0] }\n  id: { value: bad }\ninclude:\n${['x', 'y', 'z', 'w', 'v', 'u'].map((i) => `  - { id: ${i}, failAt: null, stepMs: 30, steps: 20 }`).join('\n')}\n`;
    const file = sb.write('ff.yaml', text);
    const r = await runSweep({ dbPath: sb.db, file, workers: 1, runnerModule: FAKE_TRAINER, failFast: true });
    assert.equal(r.stopped, 'fail-fast');
    assert.equal(r.failed, 1);
    assert.equal(r.running, 0);
    assert.ok(r.pending >= 5, `pending ${r.pending}`);
  } finally {
    sb.cleanup();
  }
});

test('a changed trial set is refused, saying what changed; force re-defines and keeps what was done', async () => {
  const sb = sandbox();
  try {
    const file = sb.write('s.yaml', `name: c\nparameters:\n  id: { values: [a, b] }\n  steps: { value: 3 }\n`);
    await runSweep({ dbPath: sb.db, file, workers: 1, runnerModule: FAKE_TRAINER });
    sb.write('s.yaml', `name: c\nparameters:\n  id: { values: [a, c, d] }\n  steps: { value: 3 }\n`);
    await assert.rejects(
      runSweep({ dbPath: sb.db, file, workers: 1, runnerModule: FAKE_TRAINER }),
      (e: unknown) => {
        assert.ok(e instanceof SweepChangedError);
        assert.match(e.message, /s\.yaml: sweep 'c' in .*test\.db was recorded with a different trial set; the file now gives 3 trials: 2 new, 1 dropped \(1 of them done\)\. Changed keys: id: \["a", "b"\] → \["a", "c", "d"\]\./);
        assert.match(e.message, /New, e\.g\.: id=c \| id=d/);
        assert.match(e.message, /--force/);
        return true;
      },
    );
    // refused before anything changed
    let store = openStore(sb.db);
    assert.deepEqual([storeStatus(store, 'c').total, storeStatus(store, 'c').done], [2, 2]);
    store.close();
    const r = await runSweep({ dbPath: sb.db, file, workers: 1, runnerModule: FAKE_TRAINER, force: true });
    assert.deepEqual([r.total, r.done, r.ranThisRun, r.alreadyDone], [3, 3, 2, 1]);
    store = openStore(sb.db);
    const st = storeStatus(store, 'c');
    assert.equal(st.retired, 1, 'the dropped done trial is kept, retired');
    assert.equal(listTrials(store).length, 4);
    store.close();
    // resume by name, from the YAML stored with the sweep
    const byName = await runSweep({ dbPath: sb.db, name: 'c', workers: 1, runnerModule: FAKE_TRAINER });
    assert.deepEqual([byName.total, byName.ranThisRun, byName.alreadyDone], [3, 0, 3]);
    assert.deepEqual([sweepStatus(sb.db, 'c').done, sweepStatus(sb.db, 'c').total], [3, 3]);
    assert.throws(() => sweepStatus(sb.db, 'nope'), /unknown sweep 'nope' in .*test\.db \(known: c\)/);
  } finally {
    sb.cleanup();
  }
});

test('--only runs the matching trials of a sweep registered whole; the rest stay pending and are counted as left out', async () => {
  const sb = sandbox();
  try {
    const file = sb.write('only.yaml', `name: only\nparameters:\n  id: { values: [a, b] }\n  steps: { value: 3 }\n  stepMs: { value: 1 }\nseeds: [0, 1]\n`);
    await assert.rejects(runSweep({ dbPath: sb.db, file, workers: 1, runnerModule: FAKE_TRAINER, only: 'seed = 0 or id = b' }), /--only: 'or' is not supported/);
    const store0 = openStore(sb.db);
    try {
      assert.equal(listTrials(store0, { summaryKeys: [] }).length, 0, 'a bad filter records nothing');
    } finally {
      store0.close();
    }
    const r = await runSweep({ dbPath: sb.db, file, workers: 2, runnerModule: FAKE_TRAINER, only: "seed = 1 and params.id = 'b'" });
    assert.deepEqual([r.total, r.done, r.pending, r.excluded, r.ranThisRun], [1, 1, 0, 3, 1]);
    const store = openStore(sb.db);
    try {
      const rows = listTrials(store, { sweep: 'only', summaryKeys: [] });
      assert.deepEqual(
        rows.map((t) => `${t.config.id}/${t.config.seed}:${t.status}`),
        ['a/0:pending', 'a/1:pending', 'b/0:pending', 'b/1:done'],
      );
      const st = storeStatus(store, 'only');
      assert.deepEqual([st.total, st.done, st.pending, st.excluded], [4, 1, 3, 0]);
    } finally {
      store.close();
    }
    await assert.rejects(runSweep({ dbPath: sb.db, file, workers: 1, runnerModule: FAKE_TRAINER, only: 'seed = 7' }), /--only 'seed = 7': matches none of the 4 trials of sweep 'only'/);
    const rest = await runSweep({ dbPath: sb.db, file, workers: 2, runnerModule: FAKE_TRAINER, only: 'seed = 0' });
    assert.deepEqual([rest.total, rest.done, rest.ranThisRun, rest.alreadyDone, rest.excluded], [2, 2, 2, 0, 2]);
  } finally {
    sb.cleanup();
  }
});

test('bad input is refused before anything is recorded: invalid trial config, unknown runner', async () => {
  const sb = sandbox();
  try {
    const file = sb.write('v.yaml', `name: v\nparameters:\n  steps: { values: [3, 0] }\n`);
    await assert.rejects(runSweep({ dbPath: sb.db, file, workers: 1, runnerModule: FAKE_TRAINER }), /v\.yaml: 1 invalid trial config:\n.*v\.yaml: trial 1 \(steps=0\): steps: expected an integer ≥ 1, got 0/);
    await assert.rejects(runSweep({ dbPath: sb.db, file, workers: 1, runnerModule: sb.write('nope.mjs', 'export const x = 1;\n') }), /trainer module '.*nope\.mjs' does not export a runTrial function \(exports: x\)/);
    const store = openStore(sb.db);
    assert.equal(listTrials(store).length, 0);
    store.close();
  } finally {
    sb.cleanup();
  }
});

test('workers share the cores: each gets ⌊cores / workers⌋ kernel threads unless ORTHOQUANT_THREADS is set', () => {
  assert.equal(workerEnv(2, {}, 2).ORTHOQUANT_THREADS, '1');
  assert.equal(workerEnv(1, {}, 4).ORTHOQUANT_THREADS, '4');
  assert.equal(workerEnv(8, {}, 2).ORTHOQUANT_THREADS, '1');
  assert.equal(workerEnv(2, { ORTHOQUANT_THREADS: '3' }, 2).ORTHOQUANT_THREADS, '3');
});
