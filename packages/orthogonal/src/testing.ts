/**
 * The law every orthogonal parameterization obeys, as one reusable test suite (kept out of
 * the main barrel: `@orthoquant/orthogonal/testing`).
 *
 * ```ts
 * orthogonalContract('cayley', (n, seed) => cayley(n, { seed }), {
 *   skip: [{ check: 'gradient', reason: 'why' }],
 * });
 * ```
 */
import { before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, tf } from '@orthoquant/runtime';
import { expectArraysClose, expectNoLeaks, relativeError, testBackend } from '@orthoquant/runtime/testing';
import { orthogonalityError } from './linalg.js';
import type { OrthogonalParameterization } from './types.js';

export type ContractCheck = 'orthogonality' | 'gradient' | 'training' | 'leaks' | 'determinism' | 'structured';

export interface ContractOptions {
  /** Orders for the orthogonality check (default 8, 64, 128, 256). */
  sizes?: number[];
  /** Order of the finite-difference gradient check (default 8). */
  gradientSize?: number;
  /** Order and length of the optimizer run (default 64, 100 steps). */
  trainingSize?: number;
  trainingSteps?: number;
  learningRate?: number;
  /** Known gaps, each with the reason (printed as the skip message). */
  skip?: { check: ContractCheck; reason: string }[];
}

export type ParameterizationFactory = (n: number, seed: number) => OrthogonalParameterization;

/** The quadratic test loss f(W) = Σ C∘W + ½‖W B‖², with C [n, n], B [n, 2] seeded. */
export interface TestLoss {
  tensor(w: tf.Tensor2D): tf.Scalar;
  host(w: ArrayLike<number>): number;
  dispose(): void;
}

export function testLoss(n: number, seed: number): TestLoss {
  const rng = createRng(seed).fork('contract/loss');
  const c = rng.normalArray(n * n);
  const b = rng.normalArray(n * 2);
  const ct = tf.keep(tf.tensor2d(c, [n, n]));
  const bt = tf.keep(tf.tensor2d(b, [n, 2]));
  return {
    tensor: (w) => tf.tidy(() => tf.add(tf.sum(tf.mul(ct, w)), tf.mul(tf.sum(tf.square(tf.matMul(w, bt))), 0.5))) as tf.Scalar,
    host: (w) => {
      let s = 0;
      for (let i = 0; i < n * n; i++) s += c[i] * w[i];
      for (let i = 0; i < n; i++)
        for (let j = 0; j < 2; j++) {
          let p = 0;
          for (let k = 0; k < n; k++) p += w[i * n + k] * b[k * 2 + j];
          s += 0.5 * p * p;
        }
      return s;
    },
    dispose: () => {
      ct.dispose();
      bt.dispose();
    },
  };
}

/** The variables a loss is differentiated against: the latent ones, or projUNN's W. */
export function trainedVariables(p: OrthogonalParameterization): tf.Variable[] {
  return p.managed ? [p.managed.variable] : p.variables();
}

/** W on the host (Float32 values). */
export function matrixData(p: OrthogonalParameterization): Float32Array {
  return tf.tidy(() => p.matrix().dataSync() as Float32Array);
}

/**
 * One optimizer step on the test loss: Adam on `variables()` then `afterStep()`, or the
 * parameterization's own `managed.step` (projUNN). Returns the loss before the step.
 */
export function trainingStep(p: OrthogonalParameterization, loss: TestLoss, optimizer: tf.Optimizer, learningRate: number): number {
  const vars = trainedVariables(p);
  const { value, grads } = tf.variableGrads(() => loss.tensor(p.matrix()), vars);
  const before = value.dataSync()[0];
  value.dispose();
  if (p.managed) p.managed.step(grads[p.managed.variable.name] as tf.Tensor2D, learningRate);
  else optimizer.applyGradients(grads);
  tf.dispose(grads);
  p.afterStep?.();
  return before;
}

/**
 * Autodiff gradient vs central finite differences on `coordinates` entries per variable
 * (the largest autodiff entries and random ones). Loss evaluated in Float64 on the host from
 * the float32 W; eps = 1e-2 balances truncation (O(eps²)) and float32 rounding (O(1e-7/eps)).
 */
export function gradientCheck(p: OrthogonalParameterization, seed: number, coordinates = 6, eps = 1e-2): { relErr: number; ad: number[]; fd: number[] } {
  const loss = testLoss(p.n, seed);
  const rng = createRng(seed).fork('contract/fd');
  const vars = trainedVariables(p);
  const { value, grads } = tf.variableGrads(() => loss.tensor(p.matrix()), vars);
  value.dispose();
  const ad: number[] = [];
  const fd: number[] = [];
  for (const v of vars) {
    const g = grads[v.name].dataSync();
    tf.dispose(grads[v.name]);
    const x0 = Float32Array.from(v.dataSync());
    const byMagnitude = Array.from(g.keys()).sort((i, j) => Math.abs(g[j]) - Math.abs(g[i]));
    const picks = new Set(byMagnitude.slice(0, coordinates / 2));
    while (picks.size < Math.min(coordinates, g.length)) picks.add(rng.int(g.length));
    for (const i of picks) {
      const evalAt = (delta: number): number => {
        const x = Float32Array.from(x0);
        x[i] += delta;
        tf.tidy(() => v.assign(tf.tensor(x, v.shape)));
        return loss.host(matrixData(p));
      };
      const up = evalAt(eps);
      const down = evalAt(-eps);
      ad.push(g[i]);
      fd.push((up - down) / (2 * eps));
    }
    tf.tidy(() => v.assign(tf.tensor(x0, v.shape)));
  }
  loss.dispose();
  return { relErr: relativeError(ad, fd), ad, fd };
}

/**
 * The contract suite: call it from a parameterization's test file.
 * - orthogonality: W is [n, n] and ‖WᵀW − I‖_max ≤ `p.tolerance` for every size.
 * - gradient: autodiff matches finite differences (relative error ≤ 2e-2) at n = 8.
 * - training: after 100 optimizer steps (Adam lr 1e-3, or projUNN's own step) the loss fell
 *   and W is still orthogonal within `p.tolerance`.
 * - leaks: building W, a gradient step, afterStep and dispose leave no tensor behind.
 * - determinism: the same seed gives the same W.
 * - structured: applyRows(x) = x Wᵀ, signs are ±1 (when the parameterization has one).
 */
export function orthogonalContract(name: string, factory: ParameterizationFactory, options: ContractOptions = {}): void {
  const sizes = options.sizes ?? [8, 64, 128, 256];
  const skipped = new Map((options.skip ?? []).map((s) => [s.check, s.reason]));
  const check = (what: ContractCheck, title: string, fn: (t: TestContext) => void | Promise<void>): void => {
    const reason = skipped.get(what);
    if (reason !== undefined) it(title, { skip: reason }, () => {});
    else it(title, fn);
  };

  describe(`orthogonal contract: ${name}`, () => {
    before(() => testBackend());

    for (const n of sizes) {
      check('orthogonality', `W is orthogonal within its tolerance (n = ${n})`, () => {
        const p = factory(n, 11);
        try {
          assert.equal(p.n, n);
          const w = tf.tidy(() => p.matrix());
          assert.deepEqual(w.shape, [n, n]);
          const err = orthogonalityError(w);
          w.dispose();
          assert.ok(err <= p.tolerance, `${name} n=${n}: ‖WᵀW − I‖_max = ${err.toExponential(3)} > ${p.tolerance}`);
        } finally {
          p.dispose();
        }
      });
    }

    const gn = options.gradientSize ?? 8;
    check('gradient', `gradients w.r.t. the latent parameters match finite differences (n = ${gn})`, () => {
      const p = factory(gn, 12);
      try {
        const { relErr, ad, fd } = gradientCheck(p, 12);
        assert.ok(ad.some((g) => Math.abs(g) > 1e-3), `${name}: all sampled gradient entries vanish`);
        assert.ok(relErr <= 2e-2, `${name}: gradient relative error ${relErr.toExponential(3)} (autodiff ${ad.map((g) => g.toFixed(4))} vs FD ${fd.map((g) => g.toFixed(4))})`);
      } finally {
        p.dispose();
      }
    });

    const tn = options.trainingSize ?? 64;
    const steps = options.trainingSteps ?? 100;
    check('training', `stays orthogonal through ${steps} optimizer steps and lowers the loss (n = ${tn})`, () => {
      const p = factory(tn, 13);
      const loss = testLoss(tn, 13);
      const lr = options.learningRate ?? 1e-3;
      const opt = tf.train.adam(lr);
      try {
        const first = trainingStep(p, loss, opt, lr);
        for (let s = 1; s < steps; s++) trainingStep(p, loss, opt, lr);
        const last = tf.tidy(() => loss.tensor(p.matrix()).dataSync()[0]);
        assert.ok(last < first, `${name}: loss did not fall (${first} → ${last})`);
        const err = orthogonalityError(matrixData(p), tn);
        assert.ok(err <= p.tolerance, `${name}: after ${steps} steps ‖WᵀW − I‖_max = ${err.toExponential(3)} > ${p.tolerance}`);
      } finally {
        opt.dispose();
        loss.dispose();
        p.dispose();
      }
    });

    check('leaks', 'leaks no tensor (build, gradient step, afterStep, dispose)', async () => {
      await expectNoLeaks(() => {
        const p = factory(8, 14);
        const loss = testLoss(8, 14);
        const opt = tf.train.sgd(1e-2);
        tf.dispose(tf.tidy(() => p.matrix()));
        trainingStep(p, loss, opt, 1e-2);
        if (p.structured) tf.dispose(tf.tidy(() => p.structured?.().applyRows(tf.ones([2, 8]))));
        opt.dispose();
        loss.dispose();
        p.dispose();
      }, `${name}`);
    });

    check('determinism', 'the same seed gives the same W', () => {
      const a = factory(8, 15);
      const b = factory(8, 15);
      try {
        assert.deepEqual(matrixData(a), matrixData(b));
      } finally {
        a.dispose();
        b.dispose();
      }
    });

    check('structured', 'the structured operator agrees with the dense matrix', (t) => {
      const n = sizes[0];
      const p = factory(n, 16);
      try {
        const s = p.structured?.();
        if (!s) {
          t.skip('no structured form');
          return;
        }
        assert.equal(s.n, n);
        const signs = s.signsData();
        assert.ok(signs.every((v) => v === 1 || v === -1), 'signs are ±1');
        const x = createRng(16).normalArray(3 * n);
        tf.tidy(() => {
          const xt = tf.tensor2d(x, [3, n]);
          expectArraysClose(s.applyRows(xt), tf.matMul(xt, tf.transpose(p.matrix())), 1e-5, 1e-5, `${name} applyRows`);
        });
      } finally {
        p.dispose();
      }
    });
  });
}
