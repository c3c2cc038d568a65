/**
 * A sweep of one long trial shows where that trial is: step, step budget, steps/s and an ETA,
 * in the progress events (the progress line) and in the store (`sweep status`), before any
 * trial has finished.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { openStore, sweepStatus } from '@orthoquant/store';
import { runSweep, sweepEtaMs, trialEtaMs, type SweepProgress } from './index.js';
import { FAKE_TRAINER } from './testing.js';
import { sandbox } from './test-fixtures/helpers.js';

test('one long trial: its step, steps/s and ETA reach the progress events and sweep status', async () => {
  const sb = sandbox('orthoquant-progress-');
  try {
    const file = sb.write('long.yaml', `name: long\nparameters:\n  id: { values: [only] }\n  steps: { value: 80 }\n  stepMs: { value: 25 }\n`);
    const seen: SweepProgress[] = [];
    const fromStore: { step: number | null; totalSteps: number | null; stepsPerSecond: number | null }[] = [];
    const r = await runSweep({
      dbPath: sb.db,
      file,
      workers: 1,
      runnerModule: FAKE_TRAINER,
      heartbeatMs: 100,
      onProgress: (p) => {
        seen.push(structuredClone(p));
        if (p.running === 1) {
          const s = openStore(sb.db, { readonly: true });
          try {
            fromStore.push(...sweepStatus(s, 'long').runningTrials);
          } finally {
            s.close();
          }
        }
      },
    });
    assert.equal(r.done, 1);
    const mid = seen.filter((p) => p.finishedThisRun === 0 && p.trials.length === 1 && p.trials[0].stepsPerSecond !== null);
    assert.ok(mid.length >= 1, `progress events with the trial's pace: ${JSON.stringify(seen.map((p) => p.trials))}`);
    const last = mid[mid.length - 1];
    const t = last.trials[0];
    assert.equal(t.totalSteps, 80);
    assert.ok(t.step! > 0 && t.step! <= 80);
    assert.ok(t.stepsPerSecond! > 5 && t.stepsPerSecond! < 100, `about 40 steps/s, got ${t.stepsPerSecond}`);
    assert.ok(t.etaMs !== null && last.etaMs !== null, 'an ETA before any trial finished');
    assert.equal(last.etaMs, t.etaMs, 'one trial: the sweep ETA is its ETA');
    const stored = fromStore.filter((x) => x.stepsPerSecond !== null);
    assert.ok(stored.length >= 1, `sweep status had the trial's progress: ${JSON.stringify(fromStore)}`);
    assert.equal(stored[stored.length - 1].totalSteps, 80);
  } finally {
    sb.cleanup();
  }
});

test('ETAs: a trial at its pace; a sweep from its running trials until one finishes, then at its own pace', () => {
  assert.equal(trialEtaMs(1000, 41000, 10), 4_000_000);
  assert.equal(trialEtaMs(null, 41000, 10), null);
  assert.equal(trialEtaMs(10, 100, null), null);
  const trial = (etaMs: number | null, totalSteps: number, stepsPerSecond: number | null) => ({ trialId: 1, label: '', pid: 1, attempt: 1, step: 0, totalSteps, stepsPerSecond, etaMs, metrics: {}, startedAt: 0 });
  // two running (100 s and 50 s left, each 200 s long), two pending on 2 workers: 100 + 2·200/2 s
  assert.equal(sweepEtaMs({ elapsedMs: 1, finishedThisRun: 0, pending: 2, running: 2, workers: 2, trials: [trial(100_000, 2000, 10), trial(50_000, 2000, 10)] }), 300_000);
  assert.equal(sweepEtaMs({ elapsedMs: 1, finishedThisRun: 0, pending: 0, running: 2, workers: 2, trials: [trial(100_000, 2000, 10), trial(null, 2000, null)] }), null, 'unknown while a trial has no pace');
  assert.equal(sweepEtaMs({ elapsedMs: 60_000, finishedThisRun: 2, pending: 1, running: 1, workers: 2, trials: [] }), 60_000);
});
