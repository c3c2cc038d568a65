import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, tf } from '@orthoquant/runtime';
import { expectArraysClose, expectNoLeaks, relativeError, testBackend } from '@orthoquant/runtime/testing';
import { lowRankFactors, orthogonalityError, polar, projUNN, projUnnStep, randomOrthogonal } from './index.js';
import { expm64, matmul64, orthonormalColumns, transpose64 } from './linalg.js';

/** A Float64 orthogonal matrix (exact to ~1e-16). */
function orthogonal64(n: number, seed: number): Float64Array {
  return orthonormalColumns(Float64Array.from(randomOrthogonal(n, seed)), n, n).q;
}
import { orthogonalContract } from './testing.js';

orthogonalContract('projUNN-D (rank 1)', (n, seed) => projUNN(n, { seed, variant: 'D' }));
orthogonalContract('projUNN-T (rank 4)', (n, seed) => projUNN(n, { seed, variant: 'T', rank: 4 }), { sizes: [8, 64] });

/** A rank-r [n, n] matrix from seeded factors. */
function lowRank(n: number, r: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const a = Float64Array.from(rng.normalArray(n * r));
  const b = Float64Array.from(rng.normalArray(r * n));
  return matmul64(a, b, n, r, n);
}

describe('projUNN', () => {
  before(() => testBackend());

  it('the range finder recovers a rank-k gradient exactly and the best rank-k part otherwise', () => {
    const n = 12;
    const g = lowRank(n, 2, 1);
    const { p, r, k } = lowRankFactors(g, n, 2, createRng(2));
    assert.equal(k, 2);
    assert.ok(relativeError(matmul64(p, transpose64(r, n, k), n, k, n), g) < 1e-10);
    const { k: k0 } = lowRankFactors(new Float64Array(n * n), n, 3, createRng(2));
    assert.equal(k0, 0, 'zero gradient has rank 0');
  });

  it('projUNN-D with a rank-k gradient equals the dense polar(W − ηG)', () => {
    const n = 10;
    const w = orthogonal64(n, 3);
    const g = lowRank(n, 2, 4);
    const eta = 0.05;
    const next = projUnnStep(w, g, n, { variant: 'D', rank: 2, learningRate: eta, rng: createRng(5) });
    assert.ok(orthogonalityError(next, n) < 1e-12, `float64 orthogonality ${orthogonalityError(next, n)}`);
    tf.tidy(() => {
      const dense = polar(tf.tensor2d(Float32Array.from(w, (v, i) => v - eta * g[i]), [n, n]));
      expectArraysClose(Float32Array.from(next), dense, 2e-5, 1e-4, 'projUNN-D vs polar');
    });
  });

  it('projUNN-T with a rank-k gradient equals W exp(−η skew(WᵀG))', () => {
    const n = 9;
    const w = orthogonal64(n, 6);
    const g = lowRank(n, 3, 7);
    const eta = 0.1;
    const next = projUnnStep(w, g, n, { variant: 'T', rank: 3, learningRate: eta, rng: createRng(8) });
    const wtg = matmul64(transpose64(w, n, n), g, n, n, n);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = (-eta * (wtg[i * n + j] - wtg[j * n + i])) / 2;
    const expected = matmul64(w, expm64(a, n), n, n, n);
    assert.ok(relativeError(next, expected) < 1e-12, `relative error ${relativeError(next, expected)}`);
    assert.ok(orthogonalityError(next, n) < 1e-12, `float64 orthogonality ${orthogonalityError(next, n)}`);
  });

  it('stays orthogonal to float64 precision over many steps with full-rank gradients', () => {
    const n = 16;
    let w: Float64Array = orthogonal64(n, 9);
    const rng = createRng(10);
    for (let s = 0; s < 200; s++) w = projUnnStep(w, rng.normalArray(n * n), n, { variant: s % 2 ? 'T' : 'D', rank: 2, learningRate: 0.05, rng });
    assert.ok(orthogonalityError(w, n) < 1e-12, `after 200 steps ${orthogonalityError(w, n)}`);
  });

  it('managed.step picks up an externally assigned W and leaks nothing', async () => {
    const p = projUNN(8, { seed: 1, rank: 2 });
    const g = tf.tensor2d(createRng(3).normalArray(64), [8, 8]);
    await expectNoLeaks(() => p.managed?.step(g, 0.01), 'projUNN step');
    const q = randomOrthogonal(8, 42);
    tf.tidy(() => p.managed?.variable.assign(tf.tensor2d(q, [8, 8])));
    p.managed?.step(g, 0);
    expectArraysClose(p.managed!.variable, q, 1e-6, 0, 'continues from the assigned W');
    tf.tidy(() => p.managed?.variable.assign(tf.mul(tf.tensor2d(q, [8, 8]), 2)));
    assert.throws(() => p.managed?.step(g), /projUNN: W must be orthogonal \(‖WᵀW − I‖_max = 3\.00e\+0\)/);
    assert.throws(() => p.managed?.step(tf.zeros([4, 4]) as tf.Tensor2D), /projUNN: gradient must have shape \[8, 8\], got \[4, 4\]/);
    assert.throws(() => projUnnStep(new Float64Array(64), new Float64Array(64), 8, { variant: 'D', rank: 9, learningRate: 1, rng: createRng(1) }), /projUNN: rank must be an integer in \[1, 8\], got 9/);
    assert.throws(() => projUNN(4, { variant: 'X' as 'D' }), /projUNN: variant must be 'D' or 'T', got 'X'/);
    g.dispose();
    p.dispose();
  });
});
