/**
 * Workers that die or stop answering while holding a trial: the trial is re-queued, and
 * failed (with the reason) once it has used up maxAttempts; the other trials complete.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { openStore, listTrials } from '@orthoquant/store';
import { runSweep } from './index.js';
import { FAKE_TRAINER } from './testing.js';
import { sandbox } from './test-fixtures/helpers.js';
import { metricSpans } from '@orthoquant/store/testing';

test('a trial that kills its worker is retried, then failed after maxAttempts; the others complete', async () => {
  const sb = sandbox();
  try {
    const file = sb.write('c.yaml', `name: c\nparameters:\n  id: { values: [a, b, c] }\n  steps: { value: 5 }\ninclude:\n  - { id: crash, crashAt: 2, steps: 5 }\n  - { id: resume, crashOnceAt: 8, checkpointEvery: 5, steps: 10 }\n`);
    const r = await runSweep({ dbPath: sb.db, file, workers: 2, runnerModule: FAKE_TRAINER, maxAttempts: 2 });
    assert.deepEqual([r.done, r.failed, r.pending, r.running], [4, 1, 0, 0]);
    const store = openStore(sb.db);
    try {
      const crash = listTrials(store, { where: 'params.id = crash' })[0];
      assert.equal(crash.status, 'failed');
      assert.equal(crash.attempts, 2);
      assert.match(crash.error!, /worker \d+ exited \(code 3\) \(attempt 2 of 2\)/);
      // the second attempt resumed from the step-5 checkpoint: steps 5..9 replayed over the
      // first attempt's rows, none duplicated
      const resumed = listTrials(store, { where: 'params.id = resume' })[0];
      assert.deepEqual([resumed.status, resumed.attempts], ['done', 2]);
      const rows = metricSpans(store, resumed.id).map(({ key, n, lo, hi }) => ({ key, n, lo, hi }));
      assert.deepEqual(rows, [
        { key: 'acc', n: 10, lo: 0, hi: 9 },
        { key: 'epoch', n: 2, lo: 4, hi: 9 },
        { key: 'loss', n: 10, lo: 0, hi: 9 },
        { key: 'val_acc', n: 2, lo: 4, hi: 9 },
      ]);
    } finally {
      store.close();
    }
  } finally {
    sb.cleanup();
  }
});

test('a worker whose heartbeat stops (blocked event loop) is killed and its trial failed after maxAttempts', async () => {
  const sb = sandbox();
  try {
    const file = sb.write('h.yaml', `name: h\nparameters:\n  id: { values: [a, b] }\n  steps: { value: 5 }\ninclude:\n  - { id: busy, hangAt: 1, hang: busy }\n`);
    const r = await runSweep({ dbPath: sb.db, file, workers: 2, runnerModule: FAKE_TRAINER, heartbeatMs: 100, staleAfterMs: 1500, maxAttempts: 1 });
    assert.deepEqual([r.done, r.failed, r.pending], [2, 1, 0]);
    assert.match(r.failures[0].error, /worker \d+ was killed: unresponsive \(no heartbeat for \d+ s\) \(attempt 1 of 1\)/);
  } finally {
    sb.cleanup();
  }
});

test('a trial over its time limit fails with a timeout; an abort-ignoring runner is released after the grace period', async () => {
  const sb = sandbox();
  try {
    const file = sb.write('t.yaml', `name: t\nparameters:\n  id: { values: [a] }\n  steps: { value: 3 }\ninclude:\n  - { id: slow, hangAt: 1, hang: async }\n`);
    const r = await runSweep({ dbPath: sb.db, file, workers: 2, runnerModule: FAKE_TRAINER, trialTimeoutMs: 1500 });
    assert.deepEqual([r.done, r.failed], [1, 1]);
    assert.equal(r.failures[0].label, 'include: id=slow hangAt=1 hang=async');
    assert.equal(r.failures[0].error, 'trial timed out after 1500 ms');

    const file2 = sb.write('g.yaml', `name: g\nparameters:\n  id: { values: [stuck] }\n  hangAt: { value: 1 }\n  hang: { value: ignore }\n`);
    const ac = new AbortController();
    const run = runSweep({ dbPath: sb.db, file: file2, workers: 1, runnerModule: FAKE_TRAINER, signal: ac.signal, graceMs: 500, onProgress: (p) => p.running > 0 && ac.abort() });
    const g = await run;
    assert.equal(g.stopped, 'aborted');
    assert.deepEqual([g.pending, g.running, g.done], [1, 0, 0]);
  } finally {
    sb.cleanup();
  }
});
