import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@orthoquant/runtime';
import { readIntegerModel } from '@orthoquant/integer';
import { runTrialWithPtq } from './ptq-trial.js';
import type { PtqTrialEvent } from './ptq-trial.js';

describe('runTrialWithPtq: float training, then integer-only PTQ', () => {
  function options(dir: string, events: PtqTrialEvent[]) {
    return { onEvent: (e: PtqTrialEvent) => events.push(e), signal: new AbortController().signal, checkpointDir: dir, logger: createLogger({ name: 'test', quiet: true }) };
  }

  it('respects budget.evalBatches, and leaves qat trials alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oq-ptq-'));
    try {
      const base = { task: { name: 'copy', T: 12, K: 2, trainSize: 128, valSize: 64, testSize: 64 }, model: { type: 'qornn', hidden: 8, bits: 4 }, batchSize: 32 };
      const events: PtqTrialEvent[] = [];
      const s = await runTrialWithPtq({ ...base, mode: 'ptq', ptq: { actBits: 8, statistic: 'p99.9' }, budget: { epochs: 1, evalBatches: 1 } }, options(join(dir, 'a'), events));
      assert.equal(s.int_test_sequences, 32);
      assert.equal(s.int_act_bits, 8);
      const last = events.filter((e) => e.type === 'step').at(-1);
      assert.ok(last?.type === 'step' && last.metrics.int_test_loss === s.int_test_loss && last.step === s.steps);
      assert.ok(events.some((e) => e.type === 'artifact' && e.kind === 'model' && e.path === join(dir, 'a', 'model-a8.oqint')));
      assert.deepEqual(readIntegerModel(join(dir, 'a', 'model-a8.oqint')).metadata.ptq, { actBits: 8, weightBits: 8, statistic: 'p99.9', calibrationBatches: 10 });
      const q = await runTrialWithPtq({ ...base, budget: { epochs: 1, evalBatches: 1 } }, options(join(dir, 'b'), []));
      assert.equal(Object.keys(q).filter((k) => k.startsWith('int_')).length, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an integer stage that cannot run fails the trial with a clear message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oq-ptq-'));
    try {
      const cfg = { task: { name: 'copy', T: 12, K: 2, trainSize: 64, valSize: 32, testSize: 32 }, model: { type: 'ornn', hidden: 8, activation: 'tanh' }, batchSize: 32, mode: 'ptq', ptq: { actBits: 10 } };
      await assert.rejects(runTrialWithPtq(cfg, options(dir, [])), /^Error: integer-only PTQ \(actBits 10\) failed: .*activation 'tanh' has no integer engine/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
