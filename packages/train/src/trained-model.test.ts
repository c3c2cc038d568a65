/**
 * A trained model back from its checkpoint: the weights a trial saved come back into a model
 * built from the trial's config; a checkpoint without model weights, or of another model, is
 * an error naming the file.
 */
import test, { before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tf } from '@orthoquant/runtime';
import { testBackend } from '@orthoquant/runtime/testing';
import { createModel } from '@orthoquant/models';
import { createTask } from '@orthoquant/tasks';
import { tempDir } from '@orthoquant/tasks/testing';
import { parseTrialConfig, modelIO, writeCheckpoint, loadTrainedModel, modelWeights } from './index.js';

before(async () => {
  await testBackend();
});

test('loadTrainedModel: the saved weights come back; no model/* tensor or another shape is an error naming the file', () => {
  const { dir, cleanup } = tempDir('oq-trained-');
  try {
    const config = parseTrialConfig({ task: { name: 'copy', T: 12, K: 2, trainSize: 8, valSize: 4, testSize: 4 }, model: { type: 'qornn', hidden: 8, bits: 4 } });
    const task = createTask(config.task as never, { trialSeed: config.seed });
    const trained = createModel(config.model as never, modelIO(task), 12345); // other weights than a fresh model of the config's seed
    const tensors = Object.fromEntries(Object.entries(trained.getWeights()).map(([k, w]) => [`model/${k}`, w]));
    const path = join(dir, 'a.ckpt');
    writeCheckpoint(path, { meta: { step: 7 }, tensors: { ...tensors, 'opt/adam/m': { shape: [1], data: new Float32Array(1) } } });
    assert.deepEqual(Object.keys(modelWeights(tensors)).sort(), Object.keys(trained.getWeights()).sort());

    const before = tf.memory().numTensors;
    const back = loadTrainedModel(config, task, path);
    assert.equal(back.step, 7);
    assert.equal(back.path, path);
    for (const [k, w] of Object.entries(back.model.getWeights())) assert.deepEqual(Array.from(w.data), Array.from(trained.getWeights()[k].data), k);
    back.model.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');

    const empty = join(dir, 'b.ckpt');
    writeCheckpoint(empty, { meta: { step: 1 }, tensors: { 'opt/adam/m': { shape: [1], data: new Float32Array(1) } } });
    assert.throws(() => loadTrainedModel(config, task, empty), (e: Error) => e.name === 'InputError' && e.message === `${empty}: the checkpoint holds no model weights (no model/* tensor)`);
    const other = parseTrialConfig({ ...config, model: { type: 'qornn', hidden: 16, bits: 4 } });
    assert.throws(() => loadTrainedModel(other, task, path), (e: Error) => e.name === 'InputError' && e.message.startsWith(`${path}: the checkpoint does not fit the trial's model`));
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind by a refused checkpoint');
    trained.dispose();
  } finally {
    cleanup();
  }
});
