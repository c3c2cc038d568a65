/**
 * ETAs of a running trial and of a sweep. That a sweep of one long trial shows the trial's
 * step, step budget, steps/s and ETA in its progress events and in `sweep status` is the
 * executor contract's `paceReported` (local.test.ts, queue/queue.test.ts).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { sweepEtaMs, trialEtaMs } from './index.js';

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
