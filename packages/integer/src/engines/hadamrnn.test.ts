import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '@orthoquant/runtime';
import { randomHadamRnn, randomInputs } from '../testing.js';
import { quantizeWeight } from '../ptq/export.js';
import { hadamRnnErrorBound } from '../ptq/bounds.js';
import { floatForward } from '../float/reference.js';
import type { FloatHadamRnn } from '../model.js';
import { dequantizeLogits, quantizeInputs } from './common.js';
import { hadamardStep, runHadamRnn } from './hadamrnn.js';
import type { OpCounts } from './hadamrnn.js';
import { assertEngineMatchesSimulation, integerHadam } from '../test-fixtures/hadamrnn.js';

test('HadamRNN: the integer engine equals the Float64 simulation bit for bit', () => {
  const cases = [
    { n: 16, blockSize: 16, activation: 'linear', readout: 'many-to-many', bits: 8 },
    { n: 32, blockSize: 8, activation: 'relu', readout: 'many-to-many', bits: 6 }, // k = 3: two phases
    { n: 32, blockSize: 32, activation: 'linear', readout: 'last', bits: 12 }, // k = 5
    { n: 64, blockSize: 4, activation: 'relu', readout: 'last', bits: 16 },
    { n: 8, blockSize: 2, activation: 'linear', readout: 'many-to-many', bits: 10 },
  ] as const;
  assertEngineMatchesSimulation(cases, '');
});

test('HadamRNN: the recurrent loop has no multiplication (source and op count)', () => {
  const src = hadamardStep.toString().replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  assert.doesNotMatch(src, /[^*]\*[^*=]|\*=|\/[^/]|%|Math\.imul/, 'hadamardStep source has a *, / or %');
  for (const [n, m, bits] of [[32, 32, 8], [32, 8, 12], [16, 4, 6]] as const) {
    const float = randomHadamRnn({ n, blockSize: m, seed: `ops/${n}/${m}`, activation: 'relu' });
    const T = 7;
    const B = 2;
    const x = randomInputs(T, B, 3);
    const model = integerHadam(float, bits, x, T, B);
    const xq = quantizeInputs(model, x, T, B);
    const ops: OpCounts = { add: 0, sub: 0, shift: 0, logic: 0, mul: 0 };
    const counted = runHadamRnn(model, xq, T, B, { countOps: ops });
    assert.deepEqual(counted.logits, runHadamRnn(model, xq, T, B).logits);
    assert.equal(ops.mul, 0);
    const k = Math.log2(m);
    const butterflies = T * B * (n / 2) * k;
    const E = T * B * n;
    const Es = [0, 1].reduce((s, p) => s + (model.stepShifts[p] > 0 ? 1 : 0) * Math.ceil((T - p) / 2), 0) * B * n;
    assert.equal(ops.add, butterflies + E + 2 * Es);
    assert.equal(ops.sub, butterflies + E + Es);
    assert.equal(ops.shift, 3 * Es + E); // ReLU: one shift per element
  }
});

test('HadamRNN: dequantized outputs approach the float model as activation bits grow', () => {
  const base = randomHadamRnn({ n: 64, blockSize: 64, inputSize: 2, outputSize: 5, seed: 'bits' });
  // Weights on an 8-bit grid in both models: what remains is the activations' error.
  const U = quantizeWeight(base.U, [2, 64], 8, 'U');
  const V = quantizeWeight(base.V, [64, 5], 8, 'V');
  const float: FloatHadamRnn = { ...base, U: Float32Array.from(U.codes, (q) => q * U.scale), V: Float32Array.from(V.codes, (q) => q * V.scale) };
  const T = 60;
  const B = 4;
  const x = randomInputs(T, B, 2, 'bits/x');
  const ref = floatForward(float, x, T, B);
  const errors = [8, 12, 16].map((bits) => {
    const model = integerHadam(float, bits, x, T, B);
    const y = dequantizeLogits(runHadamRnn(model, quantizeInputs(model, x, T, B), T, B));
    return Math.max(...y.map((v, i) => Math.abs(v - ref[i])));
  });
  assert.ok(errors[0] > errors[1] && errors[1] > errors[2], `errors 8/12/16 bits: ${errors.join(', ')}`);
  assert.ok(errors[2] < 1e-2, `16-bit error ${errors[2]}`);
});

test('HadamRNN: integer vs float within the derived error bound', () => {
  for (const [i, [n, m, bits, act]] of ([[64, 64, 8, 'linear'], [32, 8, 10, 'relu'], [128, 128, 12, 'linear']] as const).entries()) {
    const base = randomHadamRnn({ n, blockSize: m, inputSize: 3, outputSize: 4, activation: act, seed: `bound/${i}` });
    const U = quantizeWeight(base.U, [3, n], 6, 'U');
    const V = quantizeWeight(base.V, [n, 4], 6, 'V');
    const float: FloatHadamRnn = { ...base, U: Float32Array.from(U.codes, (q) => q * U.scale), V: Float32Array.from(V.codes, (q) => q * V.scale) };
    const T = 50;
    const B = 3;
    // Inputs on a grid of 1/4 in [−1, 1): exact input codes for ≥ 3 bits.
    const rng = createRng(`bound/x/${i}`);
    const x = Float32Array.from({ length: T * B * 3 }, () => (rng.int(8) - 4) / 4);
    const model = integerHadam(float, bits, x, T, B);
    // Calibration ranges are powers of two ≥ max|h|: leave room so the integer state never saturates.
    const ref = floatForward(float, x, T, B);
    const y = dequantizeLogits(runHadamRnn(model, quantizeInputs(model, x, T, B), T, B));
    const O = 4;
    let worstRatio = 0;
    for (let t = 0; t < T; t++) {
      const bound = hadamRnnErrorBound(model, t + 1, 1);
      for (let b = 0; b < B; b++) {
        for (let o = 0; o < O; o++) {
          const k = (t * B + b) * O + o;
          const err = Math.abs(y[k] - ref[k]);
          assert.ok(err <= bound.logits[o], `case ${i} t=${t} b=${b} o=${o}: |Δ| = ${err} > bound ${bound.logits[o]}`);
          worstRatio = Math.max(worstRatio, err / bound.logits[o]);
        }
      }
    }
    assert.ok(worstRatio > 1e-3, `case ${i}: the bound is not vacuous-tight check (ratio ${worstRatio})`);
  }
});
