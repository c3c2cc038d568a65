import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@orthoquant/runtime';
import { expectNoLeaks, testBackend } from '@orthoquant/runtime/testing';
import { binarize, binarizeArray, signArray, signSte, ternary, ternaryArray, ternaryParams } from './binary.js';
import { binarizeSubject, quantizerContract, readF32, signSubject, ternarySubject } from './testing.js';

// sign(0) = +1 by definition: the binary grid has no zero level.
const noZero = { zeros: 'sign(0) = +1 (no zero level)' };
const signSkips = { ...noZero, frozen: 'sign has no data-dependent parameter to freeze' };
quantizerContract('sign, identity STE', () => signSubject(), { skip: signSkips });
quantizerContract('sign, clipped STE (|x| ≤ 1)', () => signSubject('clipped'), { skip: signSkips });
quantizerContract('binarize, fixed α = 0.25', () => binarizeSubject({ scale: 0.25 }), { skip: noZero });
// mean|q(w)| = mean of ±α = α exactly: recomputing α is idempotent; a zero tensor gives α = 0.
quantizerContract('binarize, α = mean|w|, clipped', () => binarizeSubject({ scale: 'mean', ste: 'clipped' }));
// Threshold ½·max|w| with α = max|w| is round-to-nearest on {−α, 0, α}: every law applies.
quantizerContract('ternary, threshold 0.5, scale max', () => ternarySubject({ threshold: 0.5, scale: 'max' }));
quantizerContract('ternary, threshold 0.3, scale mean (TWN), clipped', () => ternarySubject({ threshold: 0.3, ste: 'clipped' }), {
  skip: {
    // τ = 0.3·max|w| is not the mid-point α/2 between levels: the error bound is not a law here.
    error: 'threshold is not the mid-point between levels 0 and α',
  },
});
quantizerContract('ternary, absolute threshold 0.2, fixed α 0.8', () => ternarySubject({ threshold: { absolute: 0.2 }, scale: 0.8 }), {
  skip: { error: 'τ = 0.2 is not α/2 = 0.4' },
});

describe('binary and ternary', () => {
  before(async () => {
    await testBackend();
  });

  it('sign maps 0 and −0 to +1', () => {
    const x = new Float32Array([-2, -0, 0, 1e-30, -1e-30, 3]);
    const expected = [-1, 1, 1, 1, -1, 1];
    assert.deepEqual(Array.from(tf.tidy(() => readF32(signSte(tf.tensor1d(x))))), expected);
    assert.deepEqual(Array.from(signArray(x)), expected);
  });

  it('sign STE gradients: identity passes everything, clipped only |x| ≤ 1', async () => {
    const x = tf.tensor1d([-3, -1, -0.5, 0, 0.99, 1, 1.01]);
    await expectNoLeaks(() => {
      const gi = tf.tidy(() => readF32(tf.grad((v: tf.Tensor) => tf.sum(signSte(v)))(x)));
      const gc = tf.tidy(() => readF32(tf.grad((v: tf.Tensor) => tf.sum(signSte(v, { ste: 'clipped' })))(x)));
      assert.deepEqual(Array.from(gi), [1, 1, 1, 1, 1, 1, 1]);
      assert.deepEqual(Array.from(gc), [0, 1, 1, 1, 1, 1, 0]);
    }, 'sign gradients');
    x.dispose();
  });

  it('binarize with α = mean|w|', () => {
    const w = new Float32Array([1, -3, 0, 2]);
    assert.deepEqual(Array.from(tf.tidy(() => readF32(binarize(tf.tensor1d(w), { scale: 'mean' })))), [1.5, -1.5, 1.5, 1.5]);
    assert.deepEqual(Array.from(binarizeArray(w, { scale: 'mean' })), [1.5, -1.5, 1.5, 1.5]);
  });

  it('ternary: τ = r·max|w|, strict |w| > τ, α = mean of the kept |w|', () => {
    const w = new Float32Array([4, -2, 1, -1.2, 0.5, 0]);
    // max 4, r = 0.25 → τ = 1; kept: 4, −2, −1.2 (1 is not > 1); α = (4 + 2 + 1.2)/3 = 2.4.
    const p = ternaryParams(w, { threshold: 0.25 });
    assert.equal(p.threshold, 1);
    assert.equal(p.alpha, Math.fround(7.2 / 3));
    const a = Math.fround(2.4);
    const expected = [a, -a, 0, -a, 0, 0];
    assert.deepEqual(Array.from(ternaryArray(w, { threshold: 0.25 })), expected);
    assert.deepEqual(Array.from(tf.tidy(() => readF32(ternary(tf.tensor1d(w), { threshold: 0.25 })))), expected);
    assert.deepEqual(Array.from(ternaryArray(w, { threshold: 0.25, scale: 'max' })), [4, -4, 0, -4, 0, 0]);
    assert.deepEqual(Array.from(ternaryArray(w, { threshold: { absolute: 0.4 }, scale: 1 })), [1, -1, 1, -1, 1, 0]);
  });

  it('ternary with nothing kept returns zeros, not NaN', () => {
    const w = new Float32Array([0.1, -0.1]);
    const opts = { threshold: { absolute: 1 } };
    assert.deepEqual(Array.from(ternaryArray(w, opts)), [0, 0]);
    assert.deepEqual(Array.from(tf.tidy(() => readF32(ternary(tf.tensor1d(w), opts)))), [0, 0]);
  });

  it('validates options', () => {
    const x = tf.tensor1d([1, 2]);
    try {
      assert.throws(() => signSte(x, { ste: 'none' as never }), /signSte: ste must be 'identity' or 'clipped', got "none"/);
      assert.throws(() => binarize(x, { scale: -1 }), /binarize: scale must be a finite number ≥ 0 or 'mean', got -1/);
      assert.throws(() => ternary(x, { threshold: 1 }), /ternary: threshold must be a fraction of max\|w\| in \[0, 1\) or \{ absolute: τ ≥ 0 \}, got 1/);
      assert.throws(() => ternary(x, { threshold: { absolute: -1 } }), /threshold must be .* got \{"absolute":-1\}/);
      assert.throws(() => ternaryArray(new Float32Array(2), { threshold: 0.5, scale: 'median' as never }), /ternaryParams: scale must be 'mean', 'max' or a finite number ≥ 0, got "median"/);
    } finally {
      x.dispose();
    }
  });
});
