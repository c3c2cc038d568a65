import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@orthoquant/runtime';
import { expectArraysClose, testBackend } from '@orthoquant/runtime/testing';
import { blockHadamRnn, blockKroneckerHadamard, hadamRnn, hadamard, hadamardFactors, hadamardTransformInPlace, kronecker, kroneckerHadamard } from './index.js';
import { orthogonalContract } from './testing.js';

// Adam at lr 1e-2: W changes only when some u_i crosses 0, so the 100-step run needs |Δu| of order |u| ~ U[−1, 1).
const STE = { check: 'gradient' as const, reason: 'sign has an identity STE: the true derivative is 0 almost everywhere, so finite differences cannot agree; the STE gradient is tested below' };

orthogonalContract('hadamRnn', (n, seed) => hadamRnn(n, { seed }), { learningRate: 1e-2, skip: [STE] });
orthogonalContract('hadamRnn (Paley order 12·k)', (n, seed) => hadamRnn(n, { seed }), { sizes: [12, 20, 24, 28, 36, 40, 44, 48], trainingSize: 12, gradientSize: 12, learningRate: 1e-2, skip: [STE] });
orthogonalContract('blockHadamRnn m = 4', (n, seed) => blockHadamRnn(n, 4, { seed }), { learningRate: 1e-2, skip: [STE] });

describe('HadamRNN parameterizations', () => {
  before(() => testBackend());

  it('W = diag(sign u) H/√n with entries exactly ±1/√n, and a fast transform for 2^k', () => {
    const u = new Float32Array([0.3, -0.2, 0, -5]);
    const p = hadamRnn(4, { init: u });
    const w = tf.tidy(() => p.matrix().dataSync());
    const h = hadamard(4);
    const s = [1, -1, 1, -1];
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) assert.equal(w[i * 4 + j], (s[i] * h[i * 4 + j]) / 2);
    assert.equal(p.kind, 'hadamard');
    assert.equal(p.structured?.().fastTransform, true);
    p.dispose();
    const q = hadamRnn(12);
    assert.equal(q.structured?.().fastTransform, false, 'Paley order 12 has no fast transform');
    q.dispose();
  });

  it('Block-HadamRNN is ternary with a fraction 1 − m/n of zeros', () => {
    const p = blockHadamRnn(32, 8, { seed: 2 });
    const w = tf.tidy(() => p.matrix().dataSync());
    const zeros = w.filter((v) => v === 0).length;
    assert.equal(zeros, 32 * 32 * (1 - 8 / 32));
    assert.ok(w.every((v) => v === 0 || Math.abs(Math.abs(v) - 1 / Math.sqrt(8)) < 1e-7));
    assert.equal(p.kind, 'block-hadamard');
    p.dispose();
    assert.throws(() => blockHadamRnn(20, 8), /blockHadamRnn: block size m = 8 must divide n = 20/);
    assert.throws(() => hadamRnn(22), /hadamRnn: no factorisation p·2\^k of order 22/);
  });

  it('the gradient w.r.t. u is the identity STE: dL/du_i = Σ_j G_ij (H/√n)_ij', () => {
    const n = 8;
    const p = hadamRnn(n, { seed: 3 });
    const g = tf.tidy(() => {
      const c = tf.randomNormal([n, n], 0, 1, 'float32', 7);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(c, p.matrix())), p.variables());
      return [grads[p.variables()[0].name].dataSync(), c.dataSync()] as const;
    });
    const h = hadamard(n);
    const expected = Array.from({ length: n }, (_, i) => {
      let s = 0;
      for (let j = 0; j < n; j++) s += g[1][i * n + j] * (h[i * n + j] / Math.sqrt(n));
      return s;
    });
    expectArraysClose(g[0], expected, 1e-5, 1e-5, 'STE gradient');
    p.dispose();
  });

  it('orders p·2^k: H_m = H_p ⊗ H_{2^k} with the smallest constructible p; W exactly orthogonal (block variant too)', () => {
    assert.deepEqual(hadamardFactors(96), { p: 12, q: 8 });
    assert.deepEqual(hadamardFactors(192), { p: 12, q: 16 });
    assert.deepEqual(hadamardFactors(128), { p: 1, q: 128 });
    assert.deepEqual(hadamardFactors(12), { p: 12, q: 1 });
    assert.deepEqual(hadamardFactors(40), { p: 20, q: 2 });
    assert.equal(hadamardFactors(22), null);
    assert.deepEqual(kroneckerHadamard(96), kronecker(hadamard(12), 12, hadamard(8), 8));
    assert.deepEqual(kroneckerHadamard(64), hadamard(64));
    for (const [n, m] of [[96, 96], [192, 192], [96, 24], [80, 40]] as const) {
      const p = m === n ? hadamRnn(n, { seed: 5 }) : blockHadamRnn(n, m, { seed: 5 });
      const w = tf.tidy(() => p.matrix().dataSync());
      const f = hadamardFactors(m)!;
      const op = p.structured!();
      assert.deepEqual(op.factors.p, f.p);
      assert.deepEqual(op.factors.hadamardP, hadamard(f.p));
      assert.equal(op.fastTransform, f.p === 1);
      // The implied ±1 matrix K = √m·diag(s)·W: KᵀK = m·I exactly, integer arithmetic.
      const s = op.signsData();
      const k = Int32Array.from(w, (v, i) => Math.round(v * Math.sqrt(m)) * s[Math.floor(i / n)]);
      assert.deepEqual(Int8Array.from(k), blockKroneckerHadamard(n, m));
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let d = 0;
          for (let r = 0; r < n; r++) d += k[r * n + i] * k[r * n + j];
          if (d !== (i === j ? m : 0)) assert.fail(`n=${n} m=${m}: (KᵀK)[${i},${j}] = ${d}`);
        }
      }
      p.dispose();
    }
  });

  it('hadamardTransformInPlace applies I ⊗ H_p ⊗ H_q to each row, exactly (integer-valued Float64)', () => {
    for (const [n, m] of [[96, 96], [48, 24], [12, 12], [16, 8]] as const) {
      const h = blockKroneckerHadamard(n, m);
      const rows = 2;
      const x = Float64Array.from({ length: rows * n }, (_, i) => ((i * 29) % 13) - 6);
      const y = hadamardTransformInPlace(Float64Array.from(x), n, m);
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < n; i++) {
          let e = 0;
          for (let j = 0; j < n; j++) e += h[i * n + j] * x[r * n + j];
          if (y[r * n + i] !== e) assert.fail(`n=${n} m=${m} row ${r} entry ${i}: ${y[r * n + i]} vs ${e}`);
        }
      }
    }
    assert.throws(() => hadamardTransformInPlace(new Float64Array(22), 22), /no factorisation p·2\^k of order 22/);
  });
});
