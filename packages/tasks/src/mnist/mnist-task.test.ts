import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '@orthoquant/runtime';
import { DEBIAN_FASHION_MNIST_DIR, MnistTask, PIXEL_STATS, createTask, loadImageDataset, numpyLegacyPermutation } from '../index.js';
import type { IdxRows } from '../index.js';
import { tempDir, writeMnistFixture } from '../testing.js';

const tmp = tempDir();
after(() => tmp.cleanup());
const mnist = () => loadImageDataset('mnist');
/** Pixel i of image `row`, read independently of the task's batch code. */
const pixel = (images: IdxRows, row: number, i: number) => images.read(row, new Uint8Array(images.rowBytes))[i];
const pmnistFixture = JSON.parse(readFileSync(new URL('../core/fixtures/numpy-legacy-permutation.json', import.meta.url), 'utf8')) as { pmnist: { permutation: number[] } };

describe('sequential / permuted MNIST', () => {
  it('sMNIST: 784 steps of one pixel in [0, 1], label at the last step, 50k/10k/10k', () => {
    const task = createTask({ name: 'smnist', valSplit: 'last' }) as MnistTask;
    assert.equal(task.T, 784);
    assert.equal(task.inputDim, 1);
    assert.equal(task.outputMode, 'last');
    assert.deepEqual([task.numExamples('train'), task.numExamples('val'), task.numExamples('test')], [50000, 10000, 10000]);
    const batch = task.batch('train', [0, 7]);
    assert.equal(batch.inputKind, 'dense');
    assert.equal(batch.inputs.length, 784 * 2);
    const ds = mnist();
    for (const [b, row] of [0, 7].entries()) {
      assert.equal(batch.targets[b], ds.trainLabels[row]);
      for (let t = 0; t < 784; t += 37) assert.equal(batch.inputs[t * 2 + b], Math.fround(pixel(ds.trainImages, row, t) / 255));
    }
    // val example 0 is row 50000 of the training file; test example 3 is row 3 of the test file.
    assert.equal(task.batch('val', [0]).targets[0], ds.trainLabels[50000]);
    assert.equal(task.batch('test', [3]).targets[0], ds.testLabels[3]);
    const d = task.describe();
    assert.equal(d.permuted, false);
    assert.equal((d.files as { sha256: string }[]).length, 4);
  });

  it('rows as steps (28 × 28) and reduced subsets for cheap runs', () => {
    const task = createTask({ name: 'smnist', pixelsPerStep: 28, trainSize: 1000, valSize: 200 }) as MnistTask;
    assert.equal(task.T, 28);
    assert.equal(task.inputDim, 28);
    assert.equal(task.numExamples('train'), 1000);
    assert.equal(task.numBatches('train', 64), 16);
    const batch = task.batch('test', [5, 6, 9]);
    const ds = mnist();
    for (let t = 0; t < 28; t++) {
      for (let j = 0; j < 28; j++) assert.equal(batch.inputs[(t * 3 + 1) * 28 + j], Math.fround(pixel(ds.testImages, 6, t * 28 + j) / 255));
    }
  });

  it('pMNIST: the numpy permutation of seed 92916, applied as image[perm[i]], recorded in describe()', () => {
    const task = createTask({ name: 'pmnist' }) as MnistTask;
    assert.deepEqual(Array.from(task.permutation!), pmnistFixture.pmnist.permutation);
    const again = createTask({ name: 'pmnist' }) as MnistTask;
    assert.deepEqual(again.permutation, task.permutation);
    const d = task.describe();
    assert.equal(d.permutationSeed, 92916);
    assert.deepEqual(d.permutation, pmnistFixture.pmnist.permutation);
    const ds = mnist();
    const batch = task.batch('test', [0]);
    const perm = task.permutation!;
    for (let i = 0; i < 784; i++) assert.equal(batch.inputs[i], Math.fround(pixel(ds.testImages, 0, perm[i]) / 255));
    const other = createTask({ name: 'pmnist', permutationSeed: 1 }) as MnistTask;
    assert.deepEqual(other.permutation, numpyLegacyPermutation(1, 784));
  });

  it('scalings: standardize and [-1, 1]', () => {
    const std = createTask({ name: 'smnist', scaling: 'standardize', pixelsPerStep: 784, valSplit: 'last' }) as MnistTask;
    const pm = createTask({ name: 'smnist', scaling: '-1-1', pixelsPerStep: 784, valSplit: 'last' }) as MnistTask;
    const ds = mnist();
    const a = std.batch('train', [0]).inputs;
    const b = pm.batch('train', [0]).inputs;
    for (const i of [0, 200, 300, 400]) {
      const v = pixel(ds.trainImages, 0, i);
      assert.ok(Math.abs(a[i] - (v / 255 - PIXEL_STATS.mnist.mean) / PIXEL_STATS.mnist.std) < 1e-6);
      assert.ok(Math.abs(b[i] - ((2 * v) / 255 - 1)) < 1e-6);
    }
    assert.deepEqual(std.describe().scalingConstants, PIXEL_STATS.mnist);
  });

  it('epochs are deterministic for a seed and cover the split once', () => {
    const task = createTask({ name: 'smnist', pixelsPerStep: 28, trainSize: 50 }) as MnistTask;
    const run = () => [...task.epochBatches('train', 16, createRng(3).fork('epoch/0'))];
    const a = run();
    const b = run();
    assert.deepEqual(a, b);
    assert.deepEqual(a.map((x) => x.B), [16, 16, 16, 2]);
    assert.deepEqual(a.flatMap((x) => Array.from(x.indices)).sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  });

  it('memoryless baseline is the entropy of the class prior (≈ ln 10)', () => {
    const task = createTask({ name: 'smnist', pixelsPerStep: 784 }) as MnistTask;
    const h = task.memorylessBaseline().loss;
    assert.ok(h < Math.log(10) && h > Math.log(10) - 0.01, `entropy ${h}`);
  });

  it('rejects bad configs with the key path and the allowed values', () => {
    assert.throws(() => createTask({ name: 'smnist', pixelsPerStep: 5 }), /task\.pixelsPerStep: expected a divisor of 784 \(1, 2, 4, .*\), got 5/);
    assert.throws(() => createTask({ name: 'smnist', trainSize: 60000 }), /task\.trainSize: expected an integer in \[1, 50000\] \(the train split of .*\), got 60000/);
    assert.throws(() => createTask({ name: 'smnist', scaling: 'minmax' }), /task\.scaling: expected one of '0-1' \| 'standardize' \| '-1-1' \| 'raw', got 'minmax'/);
    assert.throws(() => createTask({ name: 'smnist', permutationSeed: 3 }), /task\.permutationSeed: only for a permuted task/);
    assert.throws(() => createTask({ name: 'pmnist', permute: false }), /task\.permute: only for 'fashion-mnist'/);
  });

  it('loads a folder given as path (fixture), splitting off its last sixth as val', () => {
    const fx = writeMnistFixture(join(tmp.dir, 'm'), { nTrain: 60, nTest: 20 });
    const task = createTask({ name: 'smnist', path: fx.dir, pixelsPerStep: 28, valSplit: 'last' }) as MnistTask;
    assert.deepEqual([task.numExamples('train'), task.numExamples('val'), task.numExamples('test')], [50, 10, 20]);
    const v = task.batch('val', [2]);
    assert.equal(v.targets[0], fx.trainLabels[52]);
    assert.equal(v.inputs[5], Math.fround(fx.trainImages[52 * 784 + 5] / 255));
  });

  it("valSplit random (the reference's seeded random_split, default): seeded by the trial, disjoint, covers the file", () => {
    const fx = writeMnistFixture(join(tmp.dir, 'r'), { nTrain: 60, nTest: 20 });
    // Fixture images are distinct per row: identify each example by its pixels.
    const rowOf = (t: MnistTask, split: 'train' | 'val', i: number) => {
      const x = t.batch(split, [i]).inputs;
      for (let r = 0; r < 60; r++) if (x.every((v, k) => v === Math.fround(fx.trainImages[r * 784 + k] / 255))) return r;
      return -1;
    };
    const rows = (t: MnistTask) => ({
      train: Array.from({ length: 50 }, (_, i) => rowOf(t, 'train', i)),
      val: Array.from({ length: 10 }, (_, i) => rowOf(t, 'val', i)),
    });
    const a = createTask({ name: 'smnist', path: fx.dir, pixelsPerStep: 784 }, { trialSeed: 1 }) as MnistTask;
    const a2 = createTask({ name: 'smnist', path: fx.dir, pixelsPerStep: 784, splitSeed: 1 }) as MnistTask;
    const b = createTask({ name: 'smnist', path: fx.dir, pixelsPerStep: 784 }, { trialSeed: 2 }) as MnistTask;
    const ra = rows(a);
    assert.equal(a.valSplit, 'random');
    assert.equal(a.splitSeed, 1);
    assert.deepEqual([...ra.train, ...ra.val].sort((x, y) => x - y), Array.from({ length: 60 }, (_, i) => i), 'train and val partition the file');
    assert.notDeepEqual(ra.val, Array.from({ length: 10 }, (_, i) => 50 + i), 'not the last rows');
    assert.deepEqual(rows(a2), ra, "splitSeed 1 = trial seed 1 under 'trial'");
    assert.notDeepEqual(rows(b).val, ra.val, 'another trial seed, another val set');
    assert.equal(a.batch('val', [0]).targets[0], fx.trainLabels[ra.val[0]]);
    assert.match(String(a.describe().split), /^random: .*mnist-split\/1/);
    assert.throws(() => createTask({ name: 'smnist', path: fx.dir, valSplit: 'last', splitSeed: 3 }), /task\.splitSeed: only for valSplit: random/);
    assert.throws(() => createTask({ name: 'smnist', path: fx.dir, valSplit: 'first' }), /task\.valSplit: expected one of 'random' \| 'last', got 'first'/);
  });
});

describe('Fashion-MNIST', () => {
  it('a missing dataset is one error naming the folders tried and how to get the files', () => {
    const empty = join(tmp.dir, 'empty');
    assert.throws(
      () => createTask({ name: 'fashion-mnist', path: empty }),
      (err: Error) => err.message.includes(`fashion-mnist: dataset not found. Tried:\n  - ${empty}`) && err.message.includes('apt-get install dataset-fashion-mnist'),
    );
  });

  let present = true;
  try {
    loadImageDataset('fashion-mnist');
  } catch {
    present = false;
  }
  it('loads Debian\'s dataset-fashion-mnist when installed', { skip: present ? false : `not installed (${DEBIAN_FASHION_MNIST_DIR}): apt-get install dataset-fashion-mnist` }, () => {
    const task = createTask({ name: 'fashion-mnist', permute: true, pixelsPerStep: 28 }) as MnistTask;
    assert.deepEqual([task.numExamples('train'), task.numExamples('val'), task.numExamples('test')], [50000, 10000, 10000]);
    assert.equal(task.permutationSeed, 92916);
    const ds = task.dataset;
    let labelSum = 0;
    for (const y of ds.trainLabels) labelSum += y;
    assert.equal(labelSum, 270000); // 6000 of each class
    let s = 0;
    const images = ds.trainImages.all();
    for (const v of images) s += v / 255;
    assert.ok(Math.abs(s / images.length - PIXEL_STATS['fashion-mnist'].mean) < 1e-4);
  });
});
