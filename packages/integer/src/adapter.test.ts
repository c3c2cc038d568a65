import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@orthoquant/runtime';
import { testBackend, expectArraysClose } from '@orthoquant/runtime/testing';
import { createModel } from '@orthoquant/models';
import type { ModelConfig } from '@orthoquant/models';
import { createTask } from '@orthoquant/tasks';
import { fromRecurrentModel } from './adapter.js';
import { floatForward } from './float/reference.js';
import { calibrate } from './ptq/calibrate.js';
import { exportInteger } from './ptq/export.js';
import { runInteger } from './engines/run.js';
import { dequantizeLogits } from './engines/common.js';
import { evaluateFloat, evaluateInteger, quantizeForTask } from './evaluate.js';
import { randomHadamRnn, randomInputs } from './testing.js';

before(async () => {
  await testBackend();
});

const IO = { inputSize: 3, outputSize: 5, readout: 'many-to-many' as const };
const c = { hidden: 8, readout: 'auto' as const };
const CONFIGS: [string, ModelConfig][] = [
  ['ornn cayley linear', { type: 'ornn', ...c, activation: 'linear', orthogonal: 'cayley', init: 'auto', readoutActivation: 'relu' }],
  ['ornn expMap relu', { type: 'ornn', ...c, activation: 'relu', orthogonal: 'expMap', init: 'random', readoutActivation: 'linear' }],
  ['ornn hadamard block 4', { type: 'ornn', ...c, activation: 'linear', orthogonal: 'hadamard', blockSize: 4, init: 'auto', readoutActivation: 'relu' }],
  ['qornn ste-bjorck 4 bits', { type: 'qornn', ...c, activation: 'linear', strategy: 'ste-bjorck', bits: 4, init: 'auto', readoutActivation: 'relu' }],
  ['hadamrnn p=4', { type: 'hadamrnn', ...c, activation: 'linear', bits: 4, readoutActivation: 'relu' }],
  ['block-hadamrnn m=2 relu', { type: 'hadamrnn', ...c, activation: 'relu', blockSize: 2, bits: null, readoutActivation: 'relu' }],
  ['lstm', { type: 'lstm', ...c, bits: null }],
];

test('fromRecurrentModel: the float reference reproduces the tfjs model; 16-bit integer is close', () => {
  const T = 12;
  const B = 2;
  const x = randomInputs(T, B, 3, 'adapter');
  for (const [label, config] of CONFIGS) {
    const model = createModel(config, IO, label);
    const float = fromRecurrentModel(model);
    const want = tf.tidy(() => model.forward(tf.tensor3d(x, [T, B, 3])).dataSync() as Float32Array);
    const got = floatForward(float, x, T, B);
    expectArraysClose(got, want, 1e-4, 1e-4, label);
    if (float.kind !== 'lstm') {
      assert.equal(float.kind, label.includes('hadam') ? 'hadamrnn' : 'ornn', label);
      const integer = exportInteger(float, calibrate(float, [{ inputs: x, T, B }]), { actBits: 16, weightBits: 12 });
      const y = dequantizeLogits(runInteger(integer, x, T, B));
      expectArraysClose(y, want, 2e-2, 2e-2, `${label} integer`);
    }
    if (label.startsWith('qornn')) {
      // W, U, V were trained at 4 bits: their codes are recovered exactly.
      const integer = exportInteger(float, calibrate(float, [{ inputs: x, T, B }]), { actBits: 8 });
      assert.equal(integer.kind === 'ornn' && integer.W.bits, 4);
      if (integer.kind === 'ornn') for (let i = 0; i < 64; i++) assert.ok(Math.abs(integer.W.codes[i] * integer.W.scale - (float as { W: Float32Array }).W[i]) < 1e-6);
    }
    model.dispose();
  }
});

test('fromRecurrentModel: models without an integer engine are named', () => {
  const tanh = createModel({ type: 'ornn', ...c, activation: 'tanh', orthogonal: 'cayley', init: 'auto', readoutActivation: 'relu' }, IO);
  assert.throws(() => fromRecurrentModel(tanh), /model \(ornn\)\.activation: activation 'tanh' has no integer engine \(expected linear or relu\)/);
  tanh.dispose();
  const fast = createModel({ type: 'fastrnn', ...c, bits: null }, IO);
  assert.throws(() => fromRecurrentModel(fast), /model \(fastrnn\): expected ornn, qornn, hadamrnn or lstm; fastrnn has no integer engine/);
  fast.dispose();
});

test('evaluateInteger / evaluateFloat on the copy task', () => {
  const task = createTask({ name: 'copy', T: 24, K: 3, trainSize: 64, valSize: 32, testSize: 32 });
  const float = randomHadamRnn({ n: 32, inputSize: task.inputDim, outputSize: task.outputDim, seed: 'eval' });
  const { model } = quantizeForTask(float, task, { actBits: 16, weightBits: 12, calibrationBatches: 2, batchSize: 16 });
  const f = evaluateFloat(float, task, 'test', { batchSize: 10 });
  const i = evaluateInteger(model, task, 'test', { batchSize: 10, limit: 25 });
  assert.equal(f.sequences, 32);
  assert.equal(i.sequences, 25);
  assert.ok(Number.isFinite(f.loss) && f.accuracy >= 0 && f.accuracy <= 1 && f.sequencesPerSecond > 0);
  const f25 = evaluateFloat(float, task, 'test', { batchSize: 10, limit: 25 });
  assert.ok(Math.abs(i.loss - f25.loss) < 1e-2 * Math.max(1, f25.loss), `loss ${i.loss} vs ${f25.loss}`);
  assert.ok(Math.abs(i.accuracy - f25.accuracy) <= 0.02, `accuracy ${i.accuracy} vs ${f25.accuracy}`);
  const wrong = randomHadamRnn({ n: 8, inputSize: 2, outputSize: task.outputDim });
  assert.throws(() => evaluateFloat(wrong, task, 'test'), /task copy: the model expects 2 input features, the task gives 10/);
  assert.throws(() => evaluateInteger(model, task, 'test', { batchSize: 0 }), /evaluate\.batchSize: expected an integer ≥ 1, got 0/);
});
