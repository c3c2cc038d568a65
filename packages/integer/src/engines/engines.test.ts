import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomHadamRnn, randomInputs, randomLstm, randomOrnn } from '../testing.js';
import { calibrate } from '../ptq/calibrate.js';
import { exportInteger } from '../ptq/export.js';
import { floatForward } from '../float/reference.js';
import type { FloatModel } from '../model.js';
import { dequantizeLogits, quantizeInputs } from './common.js';
import { runIntegerCodes, simulateInteger } from './run.js';
import { lookupQ15 } from './lstm.js';
import { activationTable } from '../ptq/export.js';

function relErr(y: Float32Array, ref: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < y.length; i++) {
    num += (y[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / den);
}

function check(float: FloatModel, actBits: number, label: string, T = 30, B = 3): { err: number } {
  const x = randomInputs(T, B, float.inputSize, `${label}/x`);
  const model = exportInteger(float, calibrate(float, [{ inputs: x, T, B }]), { actBits });
  const xq = quantizeInputs(model, x, T, B);
  const fast = runIntegerCodes(model, xq, T, B);
  const sim = simulateInteger(model, xq, T, B);
  assert.deepEqual(Array.from(fast.logits), Array.from(sim.logits), `${label}: engine vs simulation`);
  assert.deepEqual(Array.from(fast.logitScales), Array.from(sim.logitScales), `${label}: logit scales`);
  const ref = floatForward(float, x, T, B);
  return { err: relErr(dequantizeLogits(fast), ref) };
}

test('dense ORNN: integer engine equals the simulation; error falls with bits', () => {
  for (const [i, c] of ([
    { n: 16, activation: 'linear', readout: 'many-to-many' },
    { n: 24, activation: 'relu', readout: 'last' },
  ] as const).entries()) {
    const errs = [6, 8, 12, 16].map((bits) => check(randomOrnn({ ...c, seed: `ornn/${i}` }), bits, `ornn/${i}/${bits}`).err);
    // Weights stay at 8 bits: the error falls until the weights dominate.
    assert.ok(errs[0] > errs[1] && errs[1] > errs[2], `ornn/${i}: errors ${errs.join(', ')}`);
    assert.ok(errs[3] < 0.05, `ornn/${i}: 16-bit error ${errs[3]}`);
  }
});

test('QAT weights already on a k-bit grid keep their exact grid', async () => {
  const { quantizeWeight } = await import('../ptq/export.js');
  const w = Float32Array.from([0.3, -0.1, 0.2, 0]);
  // A 3-bit grid whose largest |w| is a positive code 3 (= 2^{b−1} − 1): step 0.1.
  const q = quantizeWeight(w.map((v) => Math.round(v / 0.1) * 0.1), [4], 3, 'W');
  assert.deepEqual(Array.from(q.codes), [3, -1, 2, 0]);
  assert.ok(Math.abs(q.scale - 0.1) < 1e-7);
});

test('integer LSTM: engine equals the simulation; close to the float LSTM', () => {
  for (const [i, c] of ([
    { n: 16, readout: 'many-to-many' },
    { n: 8, readout: 'last', inputSize: 1 },
  ] as const).entries()) {
    const { err } = check(randomLstm({ ...c, seed: `lstm/${i}` }), 8, `lstm/${i}`);
    assert.ok(err < 0.08, `lstm/${i}: relative logit error ${err}`);
  }
});

test('fixed-point sigmoid/tanh tables: within 2^-10 of the real functions on Q3.12', () => {
  const sig = activationTable((v) => 1 / (1 + Math.exp(-v)));
  const tanh = activationTable(Math.tanh);
  let worst = 0;
  for (let x = -32768; x < 32768; x += 7) {
    const r = x / 4096;
    worst = Math.max(worst, Math.abs(lookupQ15(sig, x) / 32768 - 1 / (1 + Math.exp(-r))), Math.abs(lookupQ15(tanh, x) / 32768 - Math.tanh(r)));
  }
  assert.ok(worst < 2 ** -10, `worst error ${worst}`);
});

test('HadamRNN and Block-HadamRNN through the common entry', () => {
  check(randomHadamRnn({ n: 32, blockSize: 8, seed: 'entry' }), 8, 'hadam/entry');
});

test('exportInteger: bad options are named', () => {
  const float = randomOrnn();
  const x = randomInputs(5, 2, 3);
  const cal = calibrate(float, [{ inputs: x, T: 5, B: 2 }]);
  assert.throws(() => exportInteger(float, cal, { actBits: 20 }), /ptq\.actBits: expected an integer in 2\.\.16 \(QORNN uses 6, 8, 10, 12, 16\), got 20/);
  assert.throws(() => exportInteger(float, cal, { actBits: 8, weightBits: 1 }), /ptq\.weightBits: expected an integer in 2\.\.16, got 1/);
  assert.throws(() => calibrate(float, []), /calibrate: no calibration batches/);
  assert.throws(() => calibrate(float, [{ inputs: x, T: 5, B: 3 }]), /inputs: expected T·B·inputSize = 5·3·3 = 45 values \(time-major\), got 30/);
  const big = randomHadamRnn({ n: 2 ** 16, outputSize: 1 });
  const calH = calibrate(big, [{ inputs: x, T: 5, B: 2 }]);
  assert.throws(() => exportInteger(big, calH, { actBits: 16 }), /ptq\.actBits: blockSize 65536 · 2\^15 exceeds 2\^30/);
});

test('carried state: two half-length runs equal one run, for every engine', async () => {
  const { initialState } = await import('./run.js');
  const models: FloatModel[] = [randomHadamRnn({ n: 16, blockSize: 8, seed: 'carry' }), randomOrnn({ n: 8, activation: 'relu' }), randomLstm({ n: 8 })];
  for (const float of models) {
    const T = 10;
    const B = 2;
    const x = randomInputs(T, B, float.inputSize, 'carry');
    const model = exportInteger(float, calibrate(float, [{ inputs: x, T, B }]), { actBits: 10 });
    const xq = quantizeInputs(model, x, T, B);
    const whole = runIntegerCodes(model, xq, T, B);
    const state = initialState(model, B);
    const D = model.inputSize;
    const a = runIntegerCodes(model, xq.subarray(0, 5 * B * D), 5, B, { state });
    const b = runIntegerCodes(model, xq.subarray(5 * B * D), 5, B, { state });
    assert.deepEqual([...a.logits, ...b.logits], [...whole.logits], `${float.kind}: logits`);
    assert.deepEqual([...a.logitScales, ...b.logitScales], [...whole.logitScales], `${float.kind}: scales`);
    assert.throws(() => runIntegerCodes(model, xq, T, 3, { state }), /inputs: expected T·B·inputSize = 10·3·3 = 90 input codes \(time-major\), got 60/);
    assert.throws(() => runIntegerCodes(model, new Int32Array(T * 3 * D), T, 3, { state }), /state: expected h.* of B·n = 3·\d+/);
  }
});
