import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, tf } from '@orthoquant/runtime';
import { expectNoLeaks, testBackend } from '@orthoquant/runtime/testing';
import { CopyTask, MetricAccumulator, batchToTensors, copyMemorylessBaseline, createTask } from '../index.js';
import type { DenseBatch } from '../index.js';

/** Class id at (t, b) of a one-hot batch; asserts exactly one hot entry. */
function classAt(batch: DenseBatch, t: number, b: number, D = 10): number {
  const o = (t * batch.B + b) * D;
  const row = Array.from(batch.inputs.subarray(o, o + D));
  assert.equal(row.reduce((s, v) => s + v, 0), 1, `one-hot at t=${t} b=${b}: ${row}`);
  return row.indexOf(1);
}

describe('copy task', () => {
  it('has the exact layout of the reference (total-length convention)', () => {
    const task = new CopyTask({ name: 'copy', T: 12, K: 3, seed: 5 });
    assert.equal(task.T, 12);
    const batch = task.batch('val', [0, 7]);
    assert.equal(batch.T, 12);
    assert.equal(batch.B, 2);
    assert.equal(batch.inputs.length, 12 * 2 * 10);
    assert.equal(batch.targets.length, 12 * 2);
    for (let b = 0; b < 2; b++) {
      const sym = task.symbols('val', [0, 7][b]);
      const input = Array.from({ length: 12 }, (_, t) => classAt(batch, t, b));
      const target = Array.from({ length: 12 }, (_, t) => batch.targets[t * 2 + b]);
      // K symbols, 12 − 6 = 6 blanks, marker, K − 1 = 2 blanks.
      assert.deepEqual(input, [...sym, 0, 0, 0, 0, 0, 0, 9, 0, 0]);
      assert.deepEqual(target, [0, 0, 0, 0, 0, 0, 0, 0, 0, ...sym]);
      for (const s of sym) assert.ok(s >= 1 && s <= 8);
    }
  });

  it('carries the hot index of each row; the float rows are built only when read, and agree', () => {
    const task = new CopyTask({ name: 'copy', T: 12, K: 3, seed: 5 });
    const batch = task.batch('train', [3, 1, 4]);
    assert.ok(batch.hot && batch.hot.length === 12 * 3);
    const rows = batch.inputs;
    assert.equal(batch.inputs, rows, 'built once');
    for (let t = 0; t < 12; t++) for (let b = 0; b < 3; b++) assert.equal(classAt(batch, t, b), batch.hot[t * 3 + b]);
    const { x } = batchToTensors(batch, task.inputDim, { hotIndices: true });
    assert.deepEqual(Array.from(x.dataSync()), Array.from(batch.hot));
    x.dispose();
  });

  it('counts T as the number of blanks under the expRNN convention', () => {
    const task = createTask({ name: 'copy', T: 4, K: 2, lengthConvention: 'blanks', seed: 1 }) as CopyTask;
    assert.equal(task.T, 8);
    const batch = task.batch('test', [3]);
    const sym = task.symbols('test', 3);
    assert.deepEqual(Array.from({ length: 8 }, (_, t) => classAt(batch, t, 0)), [...sym, 0, 0, 0, 0, 9, 0]);
    assert.deepEqual(Array.from(batch.targets), [0, 0, 0, 0, 0, 0, ...sym]);
    const d = task.describe();
    assert.equal(d.lengthConvention, 'blanks');
    assert.equal(d.totalLength, 8);
    assert.equal(d.blanksBetween, 4);
  });

  it('memoryless baseline is K·ln 8 / L: 0.0208 at T = 1000, K = 10, and what the metric code gives for that predictor', () => {
    const task = new CopyTask({ name: 'copy', T: 1000 });
    assert.equal(task.memorylessBaseline().loss.toFixed(4), '0.0208');
    assert.ok(Math.abs(copyMemorylessBaseline(10, 1000) - (10 * Math.log(8)) / 1000) < 1e-15);
    assert.equal(task.describe().memorylessBaseline, copyMemorylessBaseline(10, 1000));
    // The input-ignoring predictor: certain blank, then uniform over the symbols 1..8.
    const small = new CopyTask({ name: 'copy', T: 30, K: 4 });
    const batch = small.batch('val', [0, 1, 2]);
    const C = 9;
    const logits = new Float32Array(batch.targets.length * C);
    for (let t = 0; t < batch.T; t++) {
      for (let b = 0; b < batch.B; b++) {
        const o = (t * batch.B + b) * C;
        if (t < batch.T - 4) {
          logits.fill(-1e4, o, o + C);
          logits[o] = 0;
        } else {
          logits[o] = -1e4;
        }
      }
    }
    const acc = new MetricAccumulator(small);
    acc.add(batch, logits);
    const r = acc.result();
    assert.ok(Math.abs(r.loss! - small.memorylessBaseline().loss) < 1e-6, `loss ${r.loss}`);
  });

  it('draws symbols uniformly over 1..8', () => {
    const task = new CopyTask({ name: 'copy', T: 25, K: 10, trainSize: 4000 });
    const counts = new Array(10).fill(0);
    const batch = task.batch('train', Int32Array.from({ length: 4000 }, (_, i) => i));
    for (let k = 0; k < 10; k++) for (let b = 0; b < 4000; b++) counts[batch.targets[(15 + k) * 4000 + b]]++;
    assert.equal(counts[0], 0);
    assert.equal(counts[9], 0);
    const n = 40_000;
    let chi2 = 0;
    for (let s = 1; s <= 8; s++) chi2 += (counts[s] - n / 8) ** 2 / (n / 8);
    // χ²(7): 99.9 % quantile 24.3.
    assert.ok(chi2 < 24.3, `χ² = ${chi2.toFixed(2)}, counts ${counts}`);
  });

  it('is deterministic per (seed, split, index), and val/test are fixed sets', () => {
    const a = new CopyTask({ name: 'copy', T: 40, seed: 11 });
    const b = new CopyTask({ name: 'copy', T: 40, seed: 11 });
    const c = new CopyTask({ name: 'copy', T: 40, seed: 12 });
    assert.deepEqual(a.batch('val', [4, 9]), b.batch('val', [4, 9]));
    assert.notDeepEqual(a.symbols('val', 4), c.symbols('val', 4));
    assert.notDeepEqual(a.symbols('val', 4), a.symbols('test', 4));
    assert.notDeepEqual(a.symbols('val', 4), a.symbols('val', 5));
    // Example 9 is the same whatever batch it is drawn in.
    const single = a.batch('val', [9]);
    const pair = a.batch('val', [4, 9]);
    for (let t = 0; t < 40; t++) assert.equal(single.targets[t], pair.targets[t * 2 + 1]);
  });

  it("data seed 'trial' (default, the reference's): the trial's seed draws the data; a fixed seed keeps it across trials", () => {
    const t1 = createTask({ name: 'copy', T: 40 }, { trialSeed: 1 }) as CopyTask;
    const t2 = createTask({ name: 'copy', T: 40 }, { trialSeed: 2 }) as CopyTask;
    const explicit1 = createTask({ name: 'copy', T: 40, seed: 1 }) as CopyTask;
    assert.equal(t1.config.seed, 1);
    assert.deepEqual(t1.batch('train', [0, 3]), explicit1.batch('train', [0, 3]));
    assert.notDeepEqual(t1.symbols('train', 0), t2.symbols('train', 0));
    const f1 = createTask({ name: 'copy', T: 40, seed: 7 }, { trialSeed: 1 }) as CopyTask;
    const f2 = createTask({ name: 'copy', T: 40, seed: 7 }, { trialSeed: 2 }) as CopyTask;
    assert.deepEqual(f1.symbols('test', 5), f2.symbols('test', 5));
    assert.equal(f1.describe().seed, 7);
    // Outside a trial, 'trial' means 0.
    assert.equal((createTask({ name: 'copy', T: 40 }) as CopyTask).config.seed, 0);
  });

  it('iterates epochs: train shuffled by the rng, val in order, last batch smaller unless dropLast', () => {
    const task = new CopyTask({ name: 'copy', T: 25, trainSize: 10, valSize: 7 });
    assert.throws(() => task.epochBatches('train', 4).next(), /copy\.epochBatches: the train split is shuffled each epoch: pass an Rng/);
    const seen = [...task.epochBatches('train', 4, createRng('e1'))];
    assert.deepEqual(seen.map((x) => x.B), [4, 4, 2]);
    assert.equal(task.numBatches('train', 4), 3);
    const order = seen.flatMap((x) => Array.from(x.indices));
    assert.deepEqual([...order].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.notDeepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual([...task.epochBatches('train', 4, createRng('e1'))].flatMap((x) => Array.from(x.indices)), order);
    const val = [...task.epochBatches('val', 3, undefined, { dropLast: true })];
    assert.deepEqual(val.flatMap((x) => Array.from(x.indices)), [0, 1, 2, 3, 4, 5]);
    assert.equal(task.numBatches('val', 3, { dropLast: true }), 2);
  });

  it('holds nothing per example: a 512k train split is only a size', () => {
    const task = new CopyTask({ name: 'copy', T: 1000 });
    assert.equal(task.numExamples('train'), 512_000);
    assert.equal(task.numExamples('val'), 2000);
    const batch = task.batch('train', [511_999]);
    assert.equal(batch.inputs.length, 1000 * 10);
    assert.throws(() => task.batch('train', [512_000]), /copy\.batch\(train\): example index 512000 at position 0 is outside \[0, 512000\)/);
  });

  it('rejects bad configs with the key path and what was expected', () => {
    assert.throws(() => createTask({ name: 'copy', T: 100, K: 0 }), /^Error: task\.K: expected an integer ≥ 1, got 0$/);
    assert.throws(() => createTask({ name: 'copy', T: 20 }), /task\.T: expected an integer ≥ 21, got 20/);
    assert.throws(() => createTask({ name: 'copy', T: 100, lengthConvention: 'expRNN' }), /task\.lengthConvention: expected one of 'total' \| 'blanks', got 'expRNN'/);
    assert.throws(() => createTask({ name: 'copy', T: 100, k: 3 }), /task\.k: unknown key for task 'copy'/);
    assert.throws(() => createTask({ name: 'cpy', T: 100 }), /task\.name: expected one of 'copy' \| .*got 'cpy'/);
    assert.throws(() => createTask({ name: 'copy', T: 100, trainSize: 1.5 }, { path: 'trial.task' }), /trial\.task\.trainSize: expected an integer in \[1, 2147483647\], got 1\.5/);
  });

  it('turns a batch into tensors of the right shapes without leaking', async () => {
    await testBackend();
    const task = new CopyTask({ name: 'copy', T: 25, K: 3 });
    const batch = task.batch('val', [0, 1, 2]);
    await expectNoLeaks(() => {
      const { x, y } = batchToTensors(batch, task.inputDim);
      assert.deepEqual(x.shape, [25, 3, 10]);
      assert.deepEqual(y.shape, [25, 3]);
      assert.equal(y.dtype, 'int32');
      const firstStep = tf.tidy(() => Array.from(tf.argMax(x, 2).dataSync()).slice(0, 3));
      assert.deepEqual(firstStep, [0, 1, 2].map((i) => task.symbols('val', i)[0]));
      tf.dispose([x, y]);
    });
  });
});
