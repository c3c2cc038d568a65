import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testBackend } from '@orthoquant/runtime/testing';
import { runTrial } from './index.js';
import type { TrainEvent, TrialConfigInput } from './index.js';
import { tinyTrial } from './testing.js';

// The native kernels split the batch between ORTHOQUANT_THREADS threads; their gradient sums are
// kept per fixed group of rows (not per thread), so a seed means one result whatever the thread
// count. Shapes large enough that the kernels do use 2 threads (T·B·n·8 ≥ 2e6 for the Hadamard
// scan, T·B·n² ≥ 2e6 for dense and LSTM, T·B·n·classes ≥ 4e6 for the readout).
describe('training losses do not depend on ORTHOQUANT_THREADS', () => {
  const saved = process.env.ORTHOQUANT_THREADS;
  before(async () => {
    await testBackend();
  });
  after(() => {
    if (saved === undefined) delete process.env.ORTHOQUANT_THREADS;
    else process.env.ORTHOQUANT_THREADS = saved;
  });

  const models: TrialConfigInput['model'][] = [
    { type: 'hadamrnn', hidden: 128, bits: 4 },
    { type: 'qornn', hidden: 48, strategy: 'ste-bjorck', bits: 4 },
    { type: 'lstm', hidden: 32 },
  ];
  for (const model of models) {
    // With the JS kernels (no addon) both runs are single-threaded; CI requires the addon.
    it(`${model.type}: bit-identical losses and val_loss with 1 and 2 threads`, async () => {
      const cfg = tinyTrial({
        model,
        task: { name: 'copy', T: 100, K: 8, trainSize: 96, valSize: 32, testSize: 32, seed: 3 },
        budget: { steps: 3, evalBatches: 1 },
      });
      const run = async (threads: string) => {
        process.env.ORTHOQUANT_THREADS = threads;
        const losses: number[] = [];
        const summary = await runTrial(cfg, { onEvent: (e: TrainEvent) => (e.type === 'step' ? losses.push(e.metrics.loss) : undefined) });
        return { losses, val: summary.val_loss };
      };
      const one = await run('1');
      const two = await run('2');
      assert.equal(one.losses.length, 3);
      assert.deepEqual(two.losses, one.losses, `${model.type}: losses with 2 threads differ from 1 thread`);
      assert.equal(two.val, one.val, `${model.type}: val_loss`);
    });
  }
});
