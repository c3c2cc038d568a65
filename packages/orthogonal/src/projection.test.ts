import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, tf } from '@orthoquant/runtime';
import { expectArraysClose, expectNoLeaks, testBackend } from '@orthoquant/runtime/testing';
import { bjorck, orthogonalityError, polar, randomOrthogonal, spectralNormalize } from './index.js';
import type { IterationReport } from './index.js';
import { orthogonalContract } from './testing.js';

orthogonalContract('bjorck (STE-Björck: spectral normalisation + Björck, tol 1e-3, ≤ 15 it.)', (n, seed) => bjorck(n, { seed }));
orthogonalContract('bjorck with retraction and a persistent power-iteration vector', (n, seed) => bjorck(n, { seed, retract: true, persistentPowerIteration: true, powerIterations: 2 }), {
  sizes: [8, 64],
  skip: [{ check: 'gradient', reason: 'the persistent vector changes at every call, so W(θ ± ε) are evaluated with different vectors; the stateless variant is checked above' }],
});
orthogonalContract('polar (Newton–Schulz to float32 convergence)', (n, seed) => polar(n, { seed }));

function gaussian(n: number, m: number, seed: number): tf.Tensor2D {
  return tf.tensor2d(createRng(seed).normalArray(n * m), [n, m]);
}

/** σ_max by many power iterations in Float64 on the host. */
function sigmaMax(a: ArrayLike<number>, n: number, m: number): number {
  let v = new Float64Array(m).fill(1);
  let s = 0;
  for (let it = 0; it < 500; it++) {
    const u = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) u[i] += a[i * m + j] * v[j];
    const w = new Float64Array(m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) w[j] += a[i * m + j] * u[i];
    s = Math.sqrt(Math.hypot(...w));
    const nw = Math.hypot(...w);
    v = w.map((x) => x / nw);
  }
  return s;
}

describe('projections', () => {
  before(() => testBackend());

  it('spectralNormalize divides by σ_max (power iteration) and keeps its state', async () => {
    const w = gaussian(12, 9, 1);
    const state = tf.variable(tf.ones([12, 1]), false);
    tf.tidy(() => {
      const sigma = sigmaMax(w.dataSync(), 12, 9);
      const y = spectralNormalize(w, { iterations: 50 });
      expectArraysClose(y, tf.div(w, sigma), 1e-5, 1e-3, 'W/σ');
      for (let i = 0; i < 60; i++) spectralNormalize(w, { iterations: 1, state });
      expectArraysClose(spectralNormalize(w, { iterations: 1, state }), y, 1e-5, 1e-3, 'warm-started power iteration converges');
    });
    await expectNoLeaks(() => tf.dispose(spectralNormalize(w, { state })), 'spectralNormalize');
    await expectNoLeaks(() => tf.dispose(tf.grad((x: tf.Tensor) => tf.sum(spectralNormalize(x as tf.Tensor2D)))(w)), 'spectralNormalize gradient');
    const bad = tf.zeros([3, 3]) as tf.Tensor2D;
    assert.throws(() => spectralNormalize(bad, { iterations: 0 }), /spectralNormalize: iterations must be an integer >= 1, got 0/);
    const st = tf.variable(tf.zeros([2, 1]));
    assert.throws(() => spectralNormalize(bad, { state: st }), /state must have shape \[3, 1\], got \[2, 1\]/);
    tf.dispose([bad, st, w, state]);
  });

  it('Björck: one step is (1 + β)W − βWWᵀW, and it stops on tol or maxIterations', async () => {
    const w = tf.mul(gaussian(6, 6, 2), 0.2) as tf.Tensor2D;
    const q0 = tf.tensor2d(randomOrthogonal(16, 3), [16, 16]);
    const near = tf.tidy(() => tf.add(q0, tf.mul(gaussian(16, 16, 4), 0.01)) as tf.Tensor2D);
    const report: IterationReport = { iterations: 0, change: 0 };
    tf.tidy(() => {
      const one = bjorck(w, { maxIterations: 1, tol: 0, beta: 0.3 });
      const expected = tf.sub(tf.mul(w, 1.3), tf.mul(tf.matMul(w, tf.matMul(tf.transpose(w), w)), 0.3));
      expectArraysClose(one, expected, 1e-6, 1e-5, 'one Björck step');
      const y = bjorck(near, { report });
      assert.ok(report.iterations < 15 && report.change < 1e-3, `converged early: ${JSON.stringify(report)}`);
      assert.ok(orthogonalityError(y) < 1e-5, `Björck result orthogonal: ${orthogonalityError(y)}`);
      bjorck(tf.mul(w, 0.01) as tf.Tensor2D, { report });
      assert.equal(report.iterations, 15, 'a badly scaled input hits the cap');
    });
    await expectNoLeaks(() => tf.dispose(bjorck(near)), 'bjorck');
    await expectNoLeaks(() => tf.dispose(tf.grad((x: tf.Tensor) => tf.sum(bjorck(x as tf.Tensor2D)))(near)), 'bjorck gradient');
    assert.throws(() => bjorck(w, { maxIterations: 0 }), /bjorck: maxIterations must be an integer >= 1, got 0/);
    assert.throws(() => bjorck(w, { beta: -1 }), /bjorck: beta must be > 0, got -1/);
    tf.dispose([w, q0, near]);
  });

  it('polar gives the orthogonal factor: Q orthogonal and QᵀW symmetric positive definite', async () => {
    const n = 10;
    const w = tf.tidy(() => tf.add(tf.tensor2d(randomOrthogonal(n, 5), [n, n]), tf.mul(gaussian(n, n, 6), 0.2)) as tf.Tensor2D);
    tf.tidy(() => {
      const q = polar(w);
      assert.ok(orthogonalityError(q) < 1e-5);
      const p = tf.matMul(tf.transpose(q), w);
      expectArraysClose(p, tf.transpose(p), 1e-5, 1e-4, 'QᵀW symmetric');
      const d = p.dataSync();
      for (let i = 0; i < n; i++) assert.ok(d[i * n + i] > 0, 'positive diagonal');
    });
    await expectNoLeaks(() => tf.dispose(polar(w)), 'polar');
    const r = tf.zeros([2, 3]) as tf.Tensor2D;
    assert.throws(() => polar(r), /polar: expected a square matrix, got shape \[2, 3\]/);
    tf.dispose([r, w]);
  });

  it('parameterizations reject bad orders and inits', () => {
    assert.throws(() => bjorck(0), /bjorck: n must be a positive integer, got 0/);
    assert.throws(() => polar(4, { init: new Float32Array(3) }), /polar: init must have 16 entries, got 3/);
  });
});
