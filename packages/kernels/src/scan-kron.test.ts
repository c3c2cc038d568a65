import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, createRng } from '@orthoquant/runtime';
import { expectArraysClose, relativeError, expectNoLeaks } from '@orthoquant/runtime/testing';
import { hadamardRnnLoss, hadamardScan, kronTransform, pStage } from './index.js';
import type { Activation } from './index.js';
import { paley1, randomSigns, randomTensor, referenceScan, sylvester, describeEveryKernel } from './testing.js';

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

/** diag(s)·(I ⊗ H_12 ⊗ H_q)/√m as a differentiable function of s (the dense W the kernels never build). */
function denseW(s: tf.Tensor1D, n: number, m: number): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.reshape(s, [n, 1]), tf.tensor2d(kronDense(n, 12, H12, m / 12).map((x) => x / Math.sqrt(m)), [n, n])) as tf.Tensor2D);
}

const H12 = paley1(11);

describe('the Kronecker Hadamard transform (m = p·2^k)', () => {
  it('is (I ⊗ H_p ⊗ H_q) v exactly, on floats and on integers; the transposed p-stage is its transpose', () => {
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
});

describeEveryKernel('hadamardScan and hadamardRnnLoss at Hadamard orders p·2^k', () => {

  // signs: s = ±1 (linear: reversible BPTT, the default), else a real s (stored states).
  const cases: { n: number; m: number; activation: Activation; h0: boolean; signs: boolean }[] = [
    { n: 96, m: 96, activation: 'linear', h0: true, signs: true },
    { n: 48, m: 24, activation: 'linear', h0: false, signs: true },
    { n: 24, m: 24, activation: 'linear', h0: true, signs: false },
    { n: 48, m: 24, activation: 'relu', h0: false, signs: false },
    { n: 12, m: 12, activation: 'tanh', h0: true, signs: false },
    { n: 24, m: 24, activation: 'modrelu', h0: false, signs: false },
  ];
  for (const c of cases) {
    const label = `n=${c.n} m=${c.m} (12·${c.m / 12}) ${c.activation}${c.h0 ? ' h0' : ''}${c.signs ? ' s = ±1 (reversible)' : ' real s'}`;
    it(`${label}: forward and gradients equal tfjs autodiff of the dense W, no leaks`, async () => {
      const T = 6;
      const B = 3;
      const z = randomTensor([T, B, c.n], `${label}/z`) as tf.Tensor3D;
      const s = (c.signs ? tf.tensor1d(randomSigns(c.n, `${label}/s`)) : randomTensor([c.n], `${label}/s`)) as tf.Tensor1D;
      const h0 = c.h0 ? (randomTensor([B, c.n], `${label}/h0`) as tf.Tensor2D) : null;
      const bias = c.activation === 'modrelu' ? (randomTensor([c.n], `${label}/b`, 0.5) as tf.Tensor1D) : undefined;
      const C = randomTensor([T, B, c.n], `${label}/C`);
      const opts = { activation: c.activation, blockSize: c.m, p: 12, hp: H12 };
      type Scan = (zz: tf.Tensor3D, ss: tf.Tensor1D, hh: tf.Tensor2D | null, bb?: tf.Tensor1D) => tf.Tensor;
      const fused: Scan = (zz, ss, hh, bb) => hadamardScan(zz, ss, hh, { ...opts, modreluBias: bb });
      const reference: Scan = (zz, ss, hh, bb) => referenceScan(zz, denseW(ss, c.n, c.m), hh, c.activation, bb);
      const args = [z, s, ...(h0 ? [h0] : []), ...(bias ? [bias] : [])];
      const wrap = (fn: Scan) => (...xs: tf.Tensor[]) => {
        const [zz, ss, ...rest] = xs;
        const hh = h0 ? (rest.shift() as tf.Tensor2D) : null;
        const bb = bias ? (rest.shift() as tf.Tensor1D) : undefined;
        return tf.sum(tf.mul(fn(zz as tf.Tensor3D, ss as tf.Tensor1D, hh, bb), C));
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
      tf.dispose([z, s, C, ...(h0 ? [h0] : []), ...(bias ? [bias] : [])]);
    });
  }

  // last: the last-step readout (pMNIST) with one-hot inputs as hot indices.
  for (const [n, m, withH0, last] of [[96, 96, false, false], [48, 24, true, false], [48, 24, false, true]] as const) {
    it(`hadamardRnnLoss n=${n} m=${m} (12·${m / 12})${withH0 ? ' h0' : ''}${last ? ', last-step readout, index inputs' : ''}: loss and every gradient equal tfjs autodiff of the dense W`, () => {
      const [T, B, K, CLASSES] = [7, 3, 5, 4];
      const label = `loss/${n}/${m}/${last}`;
      const rng = createRng(`${label}/x`);
      const hot = Int32Array.from({ length: T * B }, (_, i) => (i * 3 + 1) % K);
      const xf = last ? tf.oneHot(tf.tensor1d(hot, 'int32'), K).toFloat().reshape([T, B, K]) as tf.Tensor3D : tf.tensor3d(Float32Array.from({ length: T * B * K }, (_, i) => (i % 3 === 0 ? 0 : rng.normal())), [T, B, K]);
      const x = last ? tf.tensor2d(hot, [T, B], 'int32') : xf;
      const targets = last ? tf.tensor1d(Int32Array.from({ length: B }, (_, i) => (i * 7 + 1) % CLASSES), 'int32') : tf.tensor2d(Int32Array.from({ length: T * B }, (_, i) => (i * 7) % CLASSES), [T, B], 'int32');
      const params = [
        randomTensor([K, n], `${label}/U`, 0.5), randomTensor([n], `${label}/b`, 0.1), tf.tensor1d(randomSigns(n, `${label}/s`)),
        ...(withH0 ? [randomTensor([B, n], `${label}/h0`, 0.5)] : []), randomTensor([n, CLASSES], `${label}/V`, 0.5), randomTensor([CLASSES], `${label}/c`, 0.1),
      ];
      const unpack = (ps: tf.Tensor[]) => {
        const [U, b, s] = ps as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        const h0 = withH0 ? (ps[3] as tf.Tensor2D) : null;
        const [V, c] = ps.slice(withH0 ? 4 : 3) as [tf.Tensor2D, tf.Tensor1D];
        return { U, b, s, h0, V, c };
      };
      const fused = (...ps: tf.Tensor[]) => {
        const { U, b, s, h0, V, c } = unpack(ps);
        return hadamardRnnLoss(x, U, b, s, h0, V, c, targets, { blockSize: m, p: 12, hp: H12, readoutRelu: true, anchorEvery: 3 });
      };
      const reference = (...ps: tf.Tensor[]) => tf.tidy(() => {
        const { U, b, s, h0, V, c } = unpack(ps);
        const zz = tf.add(tf.matMul(xf.reshape([T * B, K]), U), b).reshape([T, B, n]) as tf.Tensor3D;
        const H = referenceScan(zz, denseW(s, n, m), h0, 'linear');
        const rows = last ? 1 : T;
        const Hr = last ? tf.slice(H, [T - 1, 0, 0], [1, B, n]) : H;
        const y = tf.add(tf.matMul(tf.relu(Hr).reshape([rows * B, n]), V), c);
        return tf.mean(tf.sub(tf.logSumExp(y, 1), tf.sum(tf.mul(y, tf.oneHot(targets.reshape([rows * B]), CLASSES)), 1))) as tf.Scalar;
      });
      const lf = fused(...params);
      const lr = reference(...params);
      assert.ok(Math.abs(lf.dataSync()[0] - lr.dataSync()[0]) < 1e-5 * Math.abs(lr.dataSync()[0]), `loss ${lf.dataSync()[0]} vs ${lr.dataSync()[0]}`);
      const got = tf.grads(fused)(params);
      const want = tf.grads(reference)(params);
      got.forEach((g, i) => assert.ok(relativeError(g, want[i]) < 1e-4, `gradient ${i}: relative error ${relativeError(g, want[i]).toExponential(3)}`));
      tf.dispose([x, xf, targets, ...params, lf, lr, ...got, ...want]);
    });
  }

  it('errors name the op and the quantity', () => {
    const z = tf.zeros([2, 1, 24]) as tf.Tensor3D;
    const s = tf.ones([24]) as tf.Tensor1D;
    assert.throws(() => hadamardScan(z, s, null, { p: 12, hp: H12, blockSize: 20 }), /hadamardScan: blockSize 20 must be p·2\^k with p = 12/);
    assert.throws(() => hadamardScan(z, s, null, { p: 12, hp: H12.slice(0, 10) }), /hadamardScan: hp must be an Int8Array of p·p = 144 entries/);
    assert.throws(() => hadamardScan(z, s, null, { blockSize: 24 }), /hadamardScan: blockSize must be a power of two, got 24 \(orders p·2\^k: give p and hp\)/);
    assert.throws(() => hadamardScan(tf.zeros([2, 1, 36]) as tf.Tensor3D, tf.ones([36]) as tf.Tensor1D, null, { p: 12, hp: H12 }), /blockSize 36 must be p·2\^k with p = 12/);
    tf.dispose([z, s]);
  });
});
