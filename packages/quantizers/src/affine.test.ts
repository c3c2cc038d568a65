import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@orthoquant/runtime';
import { testBackend } from '@orthoquant/runtime/testing';
import { affineParams, quantizeAffine, quantizeAffineArray } from './affine.js';
import { affineSubject, quantizerContract, readF32 } from './testing.js';

// Fixed (scale, zeroPoint): nothing depends on the data, so there is nothing to freeze.
const fixed = { frozen: 'scale and zero point are fixed, not data-dependent' };
quantizerContract('affine 8-bit, range [−1, 3] (zero point −64)', () => affineSubject({ ...affineParams(-1, 3, 8) }), { skip: fixed });
quantizerContract('affine 4-bit, scale 0.3, zero point 5, clipped STE', () => affineSubject({ bits: 4, scale: 0.3, zeroPoint: 5, ste: 'clipped' }), { skip: fixed });
quantizerContract('affine 2-bit, scale 0.7, zero point −2', () => affineSubject({ bits: 2, scale: 0.7, zeroPoint: -2 }), { skip: fixed });

describe('affine quantizer', () => {
  before(async () => {
    await testBackend();
  });

  it('picks scale and zero point from a range that is widened to contain 0', () => {
    // [−1, 3] with 8 bits: s = 4/255, z = round(−128 + 1/s) = round(−64.25) = −64.
    const p = affineParams(-1, 3, 8);
    assert.equal(p.scale, Math.fround(4 / 255));
    assert.equal(p.zeroPoint, -64);
    // [2, 6] is widened to [0, 6]: z = −128 (0 is the lowest code).
    assert.deepEqual(affineParams(2, 6, 8), { bits: 8, scale: Math.fround(6 / 255), zeroPoint: -128 });
    // [−6, −2] → [−6, 0]: z = round(−128 + 255) = 127.
    assert.equal(affineParams(-6, -2, 8).zeroPoint, 127);
    assert.deepEqual(affineParams(0, 0, 8), { bits: 8, scale: 1, zeroPoint: 0 });
  });

  it('represents 0 exactly and clamps outside the range (hand-worked, 3 bits)', () => {
    // s = 0.5, z = 2: codes c ∈ [−4, 3], levels s·(c − z) ∈ {−3, …, 0.5}.
    const opts = { bits: 3, scale: 0.5, zeroPoint: 2 };
    const x = new Float32Array([0, 0.25, 0.75, -1.3, 2, -5, 0.4]);
    const expected = [0, 0, 0.5, -1.5, 0.5, -3, 0.5]; // 0.25/0.5 = 0.5 → 0 (even); 0.75/0.5 = 1.5 → 2 then clamp 4 → 3
    assert.deepEqual(Array.from(quantizeAffineArray(x, opts)), expected);
    assert.deepEqual(Array.from(tf.tidy(() => readF32(quantizeAffine(tf.tensor1d(x), opts)))), expected);
  });

  it('validates its options', () => {
    const x = new Float32Array(2);
    assert.throws(() => quantizeAffineArray(x, { bits: 8, scale: 0, zeroPoint: 0 }), /quantizeAffineArray: scale must be a finite number > 0, got 0/);
    assert.throws(() => quantizeAffineArray(x, { bits: 8, scale: 1, zeroPoint: 128 }), /zeroPoint must be an integer in -128\.\.127, got 128/);
    assert.throws(() => quantizeAffineArray(x, { bits: 8, scale: 1, zeroPoint: 0.5 }), /zeroPoint must be an integer in -128\.\.127, got 0\.5/);
    assert.throws(() => affineParams(1, -1, 8), /affineParams: expected finite min ≤ max, got min 1, max -1/);
    assert.throws(() => affineParams(0, 1, 0), /affineParams: bits must be an integer in 1\.\.16, got 0/);
  });
});
