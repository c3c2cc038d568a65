import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '@orthoquant/models';
import { hadamard } from '@orthoquant/orthogonal';
import { randomHadamRnn, randomInputs } from '../testing.js';
import { quantizeWeight } from '../ptq/export.js';
import { floatForward } from '../float/reference.js';
import { decodeIntegerModel, encodeIntegerModel } from '../format/file.js';
import { generateC } from '../export-c/generate.js';
import { fromRecurrentModel } from '../adapter.js';
import type { FloatHadamRnn, IntegerHadamRnn } from '../model.js';
import { dequantizeLogits, quantizeInputs } from './common.js';
import { runHadamRnn } from './hadamrnn.js';
import { kronHadamardStep, multiplierShifts, multiplierTerms } from './hadamrnn-kron.js';
import { assertEngineMatchesSimulation, integerHadam } from '../test-fixtures/hadamrnn.js';

test('HadamRNN at orders p·2^k: H_p ⊗ H_q and the 1/√m multiplier in the exported model', () => {
  const float = randomHadamRnn({ n: 96, blockSize: 96, inputSize: 3, seed: 'kron/export' });
  const x = randomInputs(10, 2, 3, 'kron/export/x');
  const model = integerHadam(float, 8, x, 10, 2);
  assert.equal(model.hadamardOrder, 12);
  assert.deepEqual(model.hadamardP, hadamard(12));
  const G = model.stepShifts[0];
  assert.deepEqual(model.stepShifts, [G, G]);
  assert.equal(model.stateScales[0], model.stateScales[1]);
  // C = round(2^F/√96); the scaled accumulator |a|·2^G/√m ≤ √96·2^7·2^G stays below 2^30.
  const F = model.multiplierShift!;
  assert.ok(Math.abs(model.stepMultiplier! - 2 ** F / Math.sqrt(96)) <= 0.5 && model.stepMultiplier! < 2 ** 31);
  assert.ok(Math.sqrt(96) * 2 ** (7 + G) < 2 ** 30, `G = ${G}`);
  assert.deepEqual(Array.from(multiplierTerms(0b1011)), [0, 1, 3]);
  // ⌊a·C/2^{F−G}⌋ term by term: shifts of each set bit, capped at 31 (JS counts shifts mod 32).
  assert.deepEqual(Array.from(multiplierShifts(0b1011, 40, 2)), [31, 31, 31]);
  assert.deepEqual(Array.from(multiplierShifts(0b1011, 4, 2)), [2, 1, -1]);
});

test('HadamRNN at orders p·2^k: the integer engine equals the Float64 simulation bit for bit', () => {
  const cases = [
    { n: 24, blockSize: 24, activation: 'linear', readout: 'many-to-many', bits: 8 },
    { n: 48, blockSize: 24, activation: 'relu', readout: 'many-to-many', bits: 6 },
    { n: 96, blockSize: 96, activation: 'linear', readout: 'last', bits: 12 },
    { n: 12, blockSize: 12, activation: 'relu', readout: 'last', bits: 16 },
    { n: 40, blockSize: 20, activation: 'linear', readout: 'many-to-many', bits: 10 },
  ] as const;
  assertEngineMatchesSimulation(cases, 'kron/', (model, i) => assert.ok(model.hadamardP, `case ${i}: a Kronecker model`));
});

test('HadamRNN at orders p·2^k: the recurrent step has no multiplication', () => {
  const src = kronHadamardStep.toString().replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  assert.doesNotMatch(src, /[^*]\*[^*=]|\*=|\/[^/]|%|Math\.imul/, 'kronHadamardStep source has a *, / or %');
});

test('HadamRNN at orders p·2^k: dequantized outputs approach the float model as activation bits grow', () => {
  const base = randomHadamRnn({ n: 96, blockSize: 96, inputSize: 2, outputSize: 5, seed: 'kron/bits' });
  const U = quantizeWeight(base.U, [2, 96], 8, 'U');
  const V = quantizeWeight(base.V, [96, 5], 8, 'V');
  const float: FloatHadamRnn = { ...base, U: Float32Array.from(U.codes, (q) => q * U.scale), V: Float32Array.from(V.codes, (q) => q * V.scale) };
  const T = 60;
  const B = 4;
  const x = randomInputs(T, B, 2, 'kron/bits/x');
  const ref = floatForward(float, x, T, B);
  const errors = [8, 12, 16].map((bits) => {
    const model = integerHadam(float, bits, x, T, B);
    const y = dequantizeLogits(runHadamRnn(model, quantizeInputs(model, x, T, B), T, B));
    return Math.max(...y.map((v, i) => Math.abs(v - ref[i])));
  });
  const scale = Math.max(...ref.map(Math.abs));
  assert.ok(errors[0] > errors[1] && errors[1] > errors[2], `errors 8/12/16 bits: ${errors.join(', ')}`);
  assert.ok(errors[2] < 1e-2 * scale, `16-bit error ${errors[2]} (outputs up to ${scale})`);
});

test('HadamRNN at orders p·2^k: .oqint round trip; C export with the p-stage; a trained model exports', () => {
  const float = randomHadamRnn({ n: 48, blockSize: 24, inputSize: 3, seed: 'kron/file' });
  const x = randomInputs(8, 2, 3, 'kron/file/x');
  const model = integerHadam(float, 10, x, 8, 2);
  const back = decodeIntegerModel(encodeIntegerModel(model)).model as IntegerHadamRnn;
  assert.deepEqual(back.hadamardP, model.hadamardP);
  assert.equal(back.stepMultiplier, model.stepMultiplier);
  const xq = quantizeInputs(model, x, 8, 2);
  assert.deepEqual(runHadamRnn(back, xq, 8, 2).logits, runHadamRnn(model, xq, 8, 2).logits);
  const bad = encodeIntegerModel({ ...model, stepShifts: [model.stepShifts[0], model.stepShifts[0] - 1] });
  assert.throws(() => decodeIntegerModel(bad, 'bad.oqint'), /bad\.oqint: header\.stepShifts: an order p·2\^k has one state grid/);
  // The C export (bit-exact with this engine: export-c.test.ts) carries H_12 and the slice length.
  const c = generateC(model, { name: 'kron' }).files['kron.c'];
  assert.match(c, /#define KRON_ORDER 12\n#define KRON_SLICE 2\n/);
  assert.throws(() => generateC({ ...model, hadamardP: model.hadamardP!.map((v, i) => (i === 5 ? 0 : v)) }), /model\.hadamardP\[5\]: expected ±1, got 0/);

  const io = { inputSize: 3, outputSize: 4, readout: 'many-to-many' as const };
  const trained = createModel({ type: 'hadamrnn', hidden: 24, activation: 'relu', bits: 4, readoutActivation: 'relu' }, io, 3);
  const f = fromRecurrentModel(trained) as FloatHadamRnn;
  assert.equal(f.blockSize, 24);
  const m = integerHadam(f, 12, x, 8, 2);
  assert.equal(m.hadamardOrder, 12);
  trained.dispose();
});
