import test from 'node:test';
import assert from 'node:assert/strict';
import { registerSweep, sweepStatus, claimTrial, recordProgress, releaseTrial } from './index.js';
import { tempStore, trialInput } from './testing.js';

test("a running trial's step, budget and pace reach sweep status; a new claim starts without them; a lost lease writes nothing", () => {
  const t = tempStore('orthoquant-progress-');
  try {
    registerSweep(t.store, { name: 's', spec: '', fingerprint: 'f', trials: [trialInput({ i: 1 })] });
    const lease = claimTrial(t.store, { workerId: 'w1' })!;
    assert.deepEqual(
      sweepStatus(t.store, 's').runningTrials.map((r) => [r.step, r.totalSteps, r.stepsPerSecond]),
      [[null, null, null]],
    );
    assert.equal(recordProgress(t.store, lease, { step: 1200, totalSteps: 40000, stepsPerSecond: 12.5 }), true);
    assert.deepEqual(
      sweepStatus(t.store, 's').runningTrials.map((r) => [r.step, r.totalSteps, r.stepsPerSecond]),
      [[1200, 40000, 12.5]],
    );
    assert.equal(recordProgress(t.store, lease, { step: 1300, totalSteps: null, stepsPerSecond: NaN }), true, 'unknown budget and pace are stored as null');
    assert.deepEqual(
      sweepStatus(t.store, 's').runningTrials.map((r) => [r.step, r.totalSteps, r.stepsPerSecond]),
      [[1300, null, null]],
    );
    releaseTrial(t.store, lease);
    assert.equal(recordProgress(t.store, lease, { step: 1400, totalSteps: 40000, stepsPerSecond: 1 }), false, 'fenced by the lease');
    claimTrial(t.store, { workerId: 'w2' });
    assert.deepEqual(
      sweepStatus(t.store, 's').runningTrials.map((r) => [r.step, r.totalSteps, r.stepsPerSecond]),
      [[null, null, null]],
      'the new attempt does not inherit the old progress',
    );
  } finally {
    t.cleanup();
  }
});
