import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, tf } from '@orthoquant/runtime';
import { expectArraysClose, expectNoLeaks, relativeError, testBackend } from '@orthoquant/runtime/testing';
import { expMap, expm, skew } from './index.js';
import { expm64 } from './linalg.js';
import { orthogonalContract } from './testing.js';

orthogonalContract('expMap', (n, seed) => expMap(n, { seed }));
orthogonalContract('expMap (A = L − Lᵀ, random init)', (n, seed) => expMap(n, { seed, skew: 'full', init: 'random' }), { sizes: [8, 64] });

describe('expm', () => {
  before(() => testBackend());

  it('matches a Float64 Taylor reference for general and skew matrices of any norm', () => {
    const rng = createRng(1);
    for (const [n, scale] of [[5, 0.1], [7, 3], [16, 8]] as const) {
      const x = rng.normalArray(n * n).map((v) => v * scale / Math.sqrt(n));
      const ref = expm64(x, n);
      tf.tidy(() => {
        const e = expm(tf.tensor2d(x, [n, n]));
        assert.ok(relativeError(e, ref) < 2e-5, `n=${n} scale=${scale}: ${relativeError(e, ref)}`);
      });
    }
    tf.tidy(() => expectArraysClose(expm(tf.tensor2d([[0, Math.PI / 3], [-Math.PI / 3, 0]])), [0.5, Math.sqrt(3) / 2, -Math.sqrt(3) / 2, 0.5], 1e-6, 0, 'rotation'));
  });

  it('its gradient is the adjoint Fréchet derivative (finite differences, general X)', () => {
    const n = 6;
    const rng = createRng(2);
    const x = rng.normalArray(n * n).map((v) => v * 0.7);
    const c = rng.normalArray(n * n);
    const f = (xv: ArrayLike<number>): number => {
      const e = expm64(xv, n);
      return e.reduce((s, v, i) => s + v * c[i], 0);
    };
    const g = tf.tidy(() => {
      const ct = tf.tensor2d(c, [n, n]);
      return tf.grad((xt: tf.Tensor) => tf.sum(tf.mul(expm(xt as tf.Tensor2D), ct)))(tf.tensor2d(x, [n, n])).dataSync();
    });
    const fd = new Float64Array(n * n);
    const eps = 1e-5;
    for (let i = 0; i < n * n; i++) {
      const xp = Float64Array.from(x);
      const xm = Float64Array.from(x);
      xp[i] += eps;
      xm[i] -= eps;
      fd[i] = (f(xp) - f(xm)) / (2 * eps);
    }
    assert.ok(relativeError(g, fd) < 1e-4, `relative error ${relativeError(g, fd)}`);
  });

  it('leaks nothing and rejects non-square input', async () => {
    const x = tf.tidy(() => skew(tf.tensor2d(createRng(3).normalArray(64), [8, 8]), 'full'));
    await expectNoLeaks(() => tf.dispose(expm(x)), 'expm');
    await expectNoLeaks(() => tf.dispose(tf.grad((v: tf.Tensor) => tf.sum(expm(v as tf.Tensor2D)))(x)), 'expm gradient');
    x.dispose();
    const r = tf.zeros([2, 3]) as tf.Tensor2D;
    assert.throws(() => expm(r), /expm: expected a square matrix, got shape \[2, 3\]/);
    assert.throws(() => expMap(0), /expMap: n must be a positive integer, got 0/);
    r.dispose();
  });

  it('expMap n = 256 forward + backward timing (diagnostic)', (t) => {
    const p = expMap(256, { seed: 1, init: 'random' });
    const run = (): void =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(p.matrix())), p.variables());
        value.dataSync();
        Object.values(grads).forEach((g) => g.dataSync());
      });
    run();
    const t0 = performance.now();
    run();
    t.diagnostic(`expMap n=256 forward+backward: ${(performance.now() - t0).toFixed(0)} ms`);
    p.dispose();
  });
});
