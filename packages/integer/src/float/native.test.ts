import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectArraysClose } from '@orthoquant/runtime/testing';
import { randomHadamRnn, randomInputs } from '../testing.js';
import { floatForward } from './reference.js';
import { floatForwardNative } from './native.js';
import { integerEngineInfo } from '../engines/native.js';

test('native float HadamRNN inference equals floatForward up to float32 rounding', { skip: integerEngineInfo().engine === 'native' ? false : 'native kernels not built' }, () => {
  for (const [i, o] of ([
    { n: 16, blockSize: 16, activation: 'linear', readout: 'many-to-many' },
    { n: 32, blockSize: 8, activation: 'relu', readout: 'many-to-many' },
    { n: 12, blockSize: 4, activation: 'relu', readout: 'last' },
    { n: 128, blockSize: 128, activation: 'linear', readout: 'many-to-many', inputSize: 10, outputSize: 9 },
  ] as const).entries()) {
    const float = randomHadamRnn({ ...o, seed: `fnative/${i}` });
    const T = 50;
    const B = 3;
    const x = randomInputs(T, B, float.inputSize, `fnative/x/${i}`).map((v, k) => (k % 4 === 0 ? 0 : v));
    const got = floatForwardNative(float, x, T, B);
    assert.ok(got, `case ${i}: native float engine unavailable`);
    expectArraysClose(got, floatForward(float, x, T, B), 1e-4, 1e-4, `case ${i}`);
  }
  assert.equal(floatForwardNative(randomHadamRnn({ n: 24, blockSize: 12 }), new Float32Array(24 * 3), 4, 2), null);
});

test('native float HadamRNN inference: one-hot rows (cached per position) equal floatForward', { skip: integerEngineInfo().engine === 'native' ? false : 'native kernels not built' }, () => {
  const float = randomHadamRnn({ n: 64, blockSize: 32, activation: 'relu', readout: 'many-to-many', inputSize: 5, outputSize: 3, seed: 'fnative/onehot' });
  const T = 40;
  const B = 3;
  const D = float.inputSize;
  const x = new Float32Array(T * B * D);
  // One input off zero per row (position and value vary, so a position's cached row is
  // replaced and reused), every 7th row all zeros (the bias-only row), every 11th two inputs.
  for (let r = 0; r < T * B; r++) {
    if (r % 7 === 3) continue;
    x[r * D + (r % D)] = r % 3 === 0 ? 1 : r % 3 === 1 ? -0.5 : 2;
    if (r % 11 === 5) x[r * D + ((r + 2) % D)] = 0.25;
  }
  const got = floatForwardNative(float, x, T, B);
  assert.ok(got, 'native float engine unavailable');
  expectArraysClose(got, floatForward(float, x, T, B), 1e-4, 1e-4, 'one-hot');
});
