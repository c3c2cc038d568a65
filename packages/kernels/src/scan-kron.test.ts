import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@orthoquant/runtime';
import { testBackend, expectArraysClose, relativeError, expectNoLeaks } from '@orthoquant/runtime/testing';
import { kronHadamardScan, kronTransform, pStage } from './index.js';
import type { Activation } from './index.js';
import { hadamard, hadamardConstruction } from '@orthoquant/orthogonal';
import { randomTensor, referenceScan, sylvester } from './testing.js';

/** Paley I Hadamard matrix of order q + 1 (q prime ≡ 3 mod 4; orthogonal's construction for 12 and 20): not symmetric, as the kernel must handle. */
function paley1(q: number): Int8Array {
  const c = hadamardConstruction(q + 1);
  assert.equal(c?.kind, 'paley1', `order ${q + 1}`);
  return hadamard(q + 1);
}

/** I_{n/m} ⊗ H_p ⊗ H_q, unnormalised, dense row-major (m = p·q). */
function kronDense(n: number, p: number, hp: Int8Array, q: number): Float32Array {
  const hq = sylvester(q);
  const m = p * q;
  const out = new Float32Array(n * n);
  for (let blk = 0; blk < n; blk += m) {
    for (let a = 0; a < p; a++) for (let i = 0; i < q; i++) for (let b = 0; b < p; b++) for (let j = 0; j < q; j++) out[(blk + a * q + i) * n + blk + b * q + j] = hp[a * p + b] * hq[i * q + j];
  }
  return out;
}

const H12 = paley1(11);

for (const backend of ['wasm', 'cpu'] as const)
describe(`Kronecker Hadamard scans (m = p·2^k, JS) [${backend} backend]`, () => {
  before(async () => {
    await testBackend(backend);
  });

  it('the transform is (I ⊗ H_p ⊗ H_q) v exactly, on floats and on integers; the transposed p-stage is its transpose', () => {
    for (const [n, p, hp, q] of [[24, 12, H12, 2], [96, 12, H12, 8], [48, 12, H12, 2], [20, 20, paley1(19), 1]] as const) {
      const dense = kronDense(n, p, hp, q);
      const v = Int32Array.from({ length: n }, (_, i) => ((i * 37) % 11) - 5);
      const got = Int32Array.from(v);
      kronTransform(pStage(hp, p, q), got, 0, n, new Int32Array(p * q));
      const gotT = Int32Array.from(v);
      kronTransform(pStage(hp, p, q, true), gotT, 0, n, new Int32Array(p * q));
      for (let i = 0; i < n; i++) {
        let e = 0;
        let eT = 0;
        for (let j = 0; j < n; j++) {
          e += dense[i * n + j] * v[j];
          eT += dense[j * n + i] * v[j];
        }
        assert.equal(got[i], e, `n=${n} p=${p} row ${i}`);
        assert.equal(gotT[i], eT, `transpose n=${n} p=${p} row ${i}`);
      }
      const f = Float32Array.from(v);
      kronTransform(pStage(hp, p, q), f, 0, n, new Float32Array(p * q));
      assert.deepEqual(Array.from(f), Array.from(got));
    }
  });

  const cases: { n: number; m: number; q: number; activation: Activation; h0: boolean }[] = [
    { n: 24, m: 24, q: 2, activation: 'linear', h0: true },
    { n: 48, m: 24, q: 2, activation: 'relu', h0: false },
    { n: 12, m: 12, q: 1, activation: 'tanh', h0: true },
    { n: 24, m: 24, q: 2, activation: 'modrelu', h0: false },
  ];
  for (const c of cases) {
    it(`n=${c.n} m=${c.m} (12·${c.q}) ${c.activation}${c.h0 ? ' h0' : ''}: forward and gradients equal tfjs autodiff of the dense W, no leaks`, async () => {
      const T = 6;
      const B = 3;
      const seed = `kron/${c.n}/${c.m}/${c.activation}`;
      const z = randomTensor([T, B, c.n], `${seed}/z`) as tf.Tensor3D;
      const s = randomTensor([c.n], `${seed}/s`) as tf.Tensor1D; // real s: the gradient is exact for any s
      const h0 = c.h0 ? (randomTensor([B, c.n], `${seed}/h0`) as tf.Tensor2D) : null;
      const bias = c.activation === 'modrelu' ? (randomTensor([c.n], `${seed}/b`, 0.5) as tf.Tensor1D) : undefined;
      const C = randomTensor([T, B, c.n], `${seed}/C`);
      const K = tf.tensor2d(kronDense(c.n, 12, H12, c.q).map((x) => x / Math.sqrt(c.m)), [c.n, c.n]);
      const opts = { activation: c.activation, blockSize: c.m, p: 12, hp: H12, modreluBias: bias };
      const loss = (fn: (zz: tf.Tensor3D, ss: tf.Tensor1D, hh: tf.Tensor2D | null, bb?: tf.Tensor1D) => tf.Tensor) => (zz: tf.Tensor, ss: tf.Tensor, hh?: tf.Tensor, bb?: tf.Tensor) => tf.sum(tf.mul(fn(zz as tf.Tensor3D, ss as tf.Tensor1D, (hh as tf.Tensor2D) ?? null, bb as tf.Tensor1D | undefined), C));
      const fused = (zz: tf.Tensor3D, ss: tf.Tensor1D, hh: tf.Tensor2D | null, bb?: tf.Tensor1D) => kronHadamardScan(zz, ss, hh, { ...opts, modreluBias: bb });
      const reference = (zz: tf.Tensor3D, ss: tf.Tensor1D, hh: tf.Tensor2D | null, bb?: tf.Tensor1D) => referenceScan(zz, tf.mul(tf.reshape(ss, [c.n, 1]), K) as tf.Tensor2D, hh, c.activation, bb);
      const args = [z, s, ...(h0 ? [h0] : []), ...(bias ? [bias] : [])];
      const wrap = (fn: typeof fused) => (...xs: tf.Tensor[]) => {
        const [zz, ss, ...rest] = xs;
        const hh = h0 ? rest.shift() : undefined;
        const bb = bias ? rest.shift() : undefined;
        return loss(fn)(zz, ss, hh, bb);
      };
      const Hf = fused(z, s, h0, bias);
      const Hr = reference(z, s, h0, bias);
      expectArraysClose(Hf, Hr, 1e-4);
      const gf = tf.grads(wrap(fused))(args);
      const gr = tf.grads(wrap(reference))(args);
      gf.forEach((g, i) => assert.ok(relativeError(g, gr[i]) < 1e-4, `gradient ${i}: relative error ${relativeError(g, gr[i])}`));
      tf.dispose([Hf, Hr, ...gf, ...gr]);
      await expectNoLeaks(() => {
        const { value, grads } = tf.valueAndGrads(wrap(fused))(args);
        tf.dispose([value, ...grads]);
      });
      tf.dispose([z, s, C, K, ...(h0 ? [h0] : []), ...(bias ? [bias] : [])]);
    });
  }

  it('errors name the op and the quantity', () => {
    const z = tf.zeros([2, 1, 24]) as tf.Tensor3D;
    const s = tf.ones([24]) as tf.Tensor1D;
    assert.throws(() => kronHadamardScan(z, s, null, { p: 12, hp: H12, blockSize: 20 }), /kronHadamardScan: blockSize 20 must divide the hidden size n = 24/);
    assert.throws(() => kronHadamardScan(z, s, null, { p: 12, hp: H12.slice(0, 10) }), /kronHadamardScan: hp must be an Int8Array of p·p = 144 entries/);
    assert.throws(() => kronHadamardScan(tf.zeros([2, 1, 36]) as tf.Tensor3D, tf.ones([36]) as tf.Tensor1D, null, { p: 12, hp: H12 }), /blockSize 36 must be p·2\^k with p = 12/);
    tf.dispose([z, s]);
  });
});
