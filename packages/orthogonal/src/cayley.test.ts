import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, tf } from '@orthoquant/runtime';
import { expectArraysClose, expectNoLeaks, testBackend } from '@orthoquant/runtime/testing';
import { cayley, orthogonalityError, skew } from './index.js';
import { orthogonalContract } from './testing.js';

orthogonalContract('cayley', (n, seed) => cayley(n, { seed }));
orthogonalContract('scaled cayley (scoRNN, ρ = n/4 entries −1, A = L − Lᵀ)', (n, seed) => cayley(n, { seed, negativeOnes: n / 4, skew: 'full', init: 'random' }), { sizes: [8, 64] });

describe('cayley', () => {
  before(() => testBackend());

  it('is (I + A)⁻¹(I − A)D for a skew A: (I + A)W = (I − A)D', () => {
    const n = 6;
    const l = tf.tensor2d(createRng(1).normalArray(n * n), [n, n]);
    const d = [1, -1, 1, 1, -1, 1];
    tf.tidy(() => {
      const a = skew(l, 'full');
      const w = cayley(a, d);
      const lhs = tf.matMul(tf.add(tf.eye(n), a), w);
      const rhs = tf.mul(tf.sub(tf.eye(n), a), tf.tensor2d([d], [1, n]));
      expectArraysClose(lhs, rhs, 1e-5, 1e-5, '(I + A)W');
      assert.ok(orthogonalityError(w) < 1e-5);
    });
    l.dispose();
  });

  it('scaled Cayley puts ρ entries −1 in D (det W = (−1)^ρ) and identity init gives W = D', () => {
    const p = cayley(8, { negativeOnes: 3, init: 'identity', seed: 4 });
    const w = tf.tidy(() => p.matrix().dataSync());
    const diag = Array.from({ length: 8 }, (_, i) => w[i * 8 + i]);
    assert.equal(diag.filter((v) => v === -1).length, 3);
    assert.equal(diag.filter((v) => v === 1).length, 5);
    p.dispose();
  });

  it('leaks nothing through forward and backward', async () => {
    const a = tf.tidy(() => skew(tf.tensor2d(createRng(2).normalArray(25), [5, 5])));
    await expectNoLeaks(() => tf.dispose(tf.grad((x: tf.Tensor) => tf.sum(tf.square(cayley(x as tf.Tensor2D, [1, 1, -1, 1, 1]))))(a)), 'cayley gradient');
    a.dispose();
  });

  it('rejects bad D, ρ and shapes with clear messages', () => {
    assert.throws(() => cayley(4, { d: [1, 1, 2, 1] }), /cayley: D entries must be ±1, got 2 at index 2/);
    assert.throws(() => cayley(4, { d: [1, 1] }), /cayley: D must have 4 entries, got 2/);
    assert.throws(() => cayley(4, { negativeOnes: 5 }), /cayley: negativeOnes must be an integer in \[0, 4\], got 5/);
    const r = tf.zeros([2, 3]) as tf.Tensor2D;
    assert.throws(() => cayley(r), /cayley: expected a square matrix, got shape \[2, 3\]/);
    r.dispose();
  });
});
