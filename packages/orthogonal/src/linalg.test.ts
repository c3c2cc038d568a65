import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, tf } from '@orthoquant/runtime';
import { expectArraysClose, expectNoLeaks, finiteDifference, relativeError, testBackend } from '@orthoquant/runtime/testing';
import { orthogonalityError, solve, stopGradient } from './index.js';
import { extremeEigenvalues, luFactor, luSolve, matmul64, orthonormalColumns, symmetricEigen, transpose64 } from './linalg.js';

describe('linalg', () => {
  before(() => testBackend());

  it('LU solve: A·(A⁻¹B) = B, with pivoting, and a clear error when singular', () => {
    const n = 7;
    const a = Float64Array.from(createRng(1).normalArray(n * n));
    a[0] = 0; // forces a pivot
    const b = Float64Array.from(createRng(2).normalArray(n * 3));
    const x = luSolve(luFactor(a, n), b, 3);
    assert.ok(relativeError(matmul64(a, x, n, n, 3), b) < 1e-12);
    assert.throws(() => luFactor(new Float64Array(4), 2, 'solve'), /solve: matrix is singular \(zero pivot in column 0\)/);
  });

  it('solve: value and adjoint-rule gradients match finite differences', async () => {
    const n = 5;
    const rng = createRng(3);
    const a0 = rng.normalArray(n * n).map((v, i) => v + (i % (n + 1) === 0 ? 3 : 0));
    const b0 = rng.normalArray(n * 2);
    const c = rng.normalArray(n * 2);
    const f = (av: Float32Array, bv: Float32Array): number =>
      tf.tidy(() => tf.sum(tf.mul(solve(tf.tensor2d(av, [n, n]), tf.tensor2d(bv, [n, 2])), tf.tensor2d(c, [n, 2]))).dataSync()[0]);
    const [ga, gb] = tf.tidy(() => {
      const ct = tf.tensor2d(c, [n, 2]);
      return tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(solve(x as tf.Tensor2D, y as tf.Tensor2D), ct)))([tf.tensor2d(a0, [n, n]), tf.tensor2d(b0, [n, 2])]).map((g) => g.dataSync());
    });
    const fa = finiteDifference((x) => f(x, b0), Float32Array.from(a0), 1e-2);
    const fb = finiteDifference((y) => f(a0, y), Float32Array.from(b0), 1e-2);
    assert.ok(relativeError(ga, fa) < 1e-2, `dA: ${relativeError(ga, fa)}`);
    assert.ok(relativeError(gb, fb) < 1e-2, `dB: ${relativeError(gb, fb)}`);
    const at = tf.tensor2d(a0, [n, n]);
    const bt = tf.tensor2d(b0, [n, 2]);
    await expectNoLeaks(() => tf.dispose(tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(solve(x as tf.Tensor2D, y as tf.Tensor2D)))([at, bt])), 'solve gradient');
    assert.throws(() => solve(at, tf.zeros([3, 2]) as tf.Tensor2D), /solve: B must have 5 rows, got shape \[3, 2\]/);
    assert.throws(() => solve(bt, bt), /solve: A must be square, got shape \[5, 2\]/);
    tf.dispose([at, bt]);
  });

  it('symmetric Jacobi eigen-decomposition: S V = V Λ, V orthogonal, descending', () => {
    const n = 9;
    const g = Float64Array.from(createRng(4).normalArray(n * n));
    const s = matmul64(g, transpose64(g, n, n), n, n, n);
    const { values, vectors } = symmetricEigen(s, n);
    const sv = matmul64(s, vectors, n, n, n);
    const vl = Float64Array.from(vectors, (v, i) => v * values[i % n]);
    assert.ok(relativeError(sv, vl) < 1e-12);
    assert.ok(orthogonalityError(vectors, n) < 1e-12);
    for (let i = 1; i < n; i++) assert.ok(values[i - 1] >= values[i]);
  });

  it('Gram–Schmidt drops dependent columns', () => {
    const n = 5;
    const a = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      a[i * 3] = i + 1;
      a[i * 3 + 1] = 2 * (i + 1);
      a[i * 3 + 2] = i * i;
    }
    const { q, r } = orthonormalColumns(a, n, 3);
    assert.equal(r, 2);
    const qtq = matmul64(transpose64(q, n, r), q, r, n, r);
    expectArraysClose(qtq, [1, 0, 0, 1], 1e-12, 0, 'QᵀQ');
  });

  it('stopGradient passes values and blocks gradients', () => {
    tf.tidy(() => {
      const x = tf.tensor1d([1, 2, 3]);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.add(tf.mul(stopGradient(v), v), v)))(x);
      expectArraysClose(g, [2, 3, 4], 1e-6, 0, 'd/dx (sg(x)·x + x) = x + 1');
    });
  });

  it('extremeEigenvalues: the smallest and largest eigenvalue as symmetricEigen finds them (Householder + Sturm bisection)', () => {
    const rng = createRng(4);
    for (const n of [1, 2, 3, 17, 40]) {
      const g = rng.normalArray(n * n);
      const sym = matmul64(transpose64(g, n, n), g, n, n, n); // GᵀG: positive semi-definite, a spread spectrum
      for (let i = 0; i < n; i++) sym[i * n + i] -= 2; // and some negative eigenvalues
      const { values } = symmetricEigen(sym, n);
      const { min, max } = extremeEigenvalues(sym, n);
      assert.ok(Math.abs(max - values[0]) < 1e-9 * Math.max(1, Math.abs(values[0])), `n=${n}: max ${max} vs ${values[0]}`);
      assert.ok(Math.abs(min - values[n - 1]) < 1e-9 * Math.max(1, Math.abs(values[0])), `n=${n}: min ${min} vs ${values[n - 1]}`);
    }
    const diag = new Float64Array(16);
    [3, -1, 0.5, 2].forEach((v, i) => (diag[i * 5] = v));
    assert.deepEqual(Object.values(extremeEigenvalues(diag, 4)).map((v) => Math.round(v * 1e9) / 1e9), [-1, 3]);
  });
});
