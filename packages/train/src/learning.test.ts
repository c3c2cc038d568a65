/**
 * Learning tests: each model family must do clearly better than the task's memoryless
 * baseline — the loss of the best predictor that ignores the input — on a short task, for
 * two seeds. A model that learned nothing (or only to predict blanks) fails them:
 * - copy task (T = 30 total, K = 5): the memoryless loss is K·ln 8 / T = 0.347 (blanks right,
 *   the K symbols guessed); the bar is test loss < baseline / 5 AND ≥ 90 % of the recalled
 *   symbols right (a blank-predictor recalls 0 %, a guesser 12.5 %);
 * - sMNIST read row by row (28 steps of 28 pixels): ≥ 80 % test accuracy after one epoch of
 *   20k images (the class prior gives 11 %).
 *
 * Settings: Adam 3e-3 for U, V, biases; the recurrent parameters (HadamRNN's u, the latent
 * W) at `orthLr` 1e-4. With one learning rate of 3e-3 for u too, HadamRNN fails the copy bar
 * for most seeds (u's signs flip every few hundred steps, each flip changes W and undoes what
 * U and V learned; see REPRODUCTION.md, "every seed learns"): this is why `orthLr` exists.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { testBackend } from '@orthoquant/runtime/testing';
import { runTrial } from './index.js';

before(async () => {
  await testBackend();
});

const COPY = { name: 'copy', T: 30, K: 5, lengthConvention: 'total', trainSize: 100_000, valSize: 200, testSize: 1000 };
const OPT = { name: 'adam', lr: 3e-3, orthLr: 1e-4 };

async function copyRun(model: Record<string, unknown>, seed: number, clipNorm?: number): Promise<Record<string, number>> {
  return (await runTrial({
    seed,
    task: COPY,
    model,
    batchSize: 64,
    optimizer: clipNorm ? { ...OPT, clipNorm } : OPT,
    budget: { steps: 800, evalEvery: 100_000 },
  })) as Record<string, number>;
}

describe('learning: the copy task (T = 30, K = 5), two seeds each, beats the memoryless baseline 5×', () => {
  const families: { label: string; model: Record<string, unknown>; clipNorm?: number }[] = [
    { label: 'HadamRNN (binary W, 4-bit U/V)', model: { type: 'hadamrnn', hidden: 64, bits: 4 } },
    { label: 'Block-HadamRNN (m = 16)', model: { type: 'hadamrnn', hidden: 64, bits: 4, blockSize: 16 } },
    { label: 'float ORNN (exp map)', model: { type: 'ornn', hidden: 64, orthogonal: 'expMap' }, clipNorm: 1 },
    { label: 'QORNN STE-Björck 4-bit', model: { type: 'qornn', hidden: 64, strategy: 'ste-bjorck', bits: 4 }, clipNorm: 1 },
  ];
  for (const f of families) {
    it(f.label, async () => {
      for (const seed of [0, 1]) {
        const m = await copyRun(f.model, seed, f.clipNorm);
        const baseline = m.memoryless_loss;
        assert.ok(Math.abs(baseline - (5 * Math.log(8)) / 30) < 1e-9, `memoryless loss ${baseline}`);
        assert.ok(m.test_loss < baseline / 5, `${f.label} seed ${seed}: test loss ${m.test_loss.toFixed(4)} not below baseline/5 = ${(baseline / 5).toFixed(4)}`);
        assert.ok(m.test_copyAccuracy >= 0.9, `${f.label} seed ${seed}: recalled ${(100 * m.test_copyAccuracy).toFixed(1)} % of the symbols`);
      }
    });
  }
});

describe('learning: sMNIST by rows, two seeds', () => {
  it('HadamRNN reaches ≥ 80 % test accuracy after one epoch of 20k images (class prior: 11 %)', async () => {
    for (const seed of [0, 1]) {
      const m = (await runTrial({
        seed,
        task: { name: 'smnist', pixelsPerStep: 28, trainSize: 20_000, valSize: 500, testSize: 1000 },
        model: { type: 'hadamrnn', hidden: 64, bits: 4 },
        batchSize: 64,
        optimizer: OPT,
        budget: { epochs: 1 },
      })) as Record<string, number>;
      assert.ok(m.test_accuracy >= 0.8, `seed ${seed}: test accuracy ${(100 * m.test_accuracy).toFixed(1)} %`);
      assert.ok(m.test_loss < m.memoryless_loss / 3, `seed ${seed}: test loss ${m.test_loss.toFixed(3)} vs memoryless ${m.memoryless_loss.toFixed(3)}`);
    }
  });
});
