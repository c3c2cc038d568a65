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
