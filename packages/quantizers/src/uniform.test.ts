import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, tf } from '@orthoquant/runtime';
import { expectArraysClose, expectNoLeaks, testBackend } from '@orthoquant/runtime/testing';
import { quantizeUniform, quantizeUniformArray, uniformAlpha, uniformRange, uniformStep } from './uniform.js';
import { expectBitsEqual, quantizerContract, readF32, uniformSubject } from './testing.js';

// Scale 'max': recomputing α from q(w) changes Δ when the largest |w| is positive (it is
// clamped to (2^{b−1} − 1)Δ, see the counter-example below); idempotence holds with α frozen.
const maxSkips = { idempotent: 'α = max|w| shrinks when the largest |w| is positive' };
// A percentile of |q(w)| is not the percentile of |w|.
const percentileSkips = { idempotent: 'the percentile of |q(w)| differs from that of |w|' };
for (const bits of [1, 2, 3, 4, 8, 16]) {
  // 1 bit is the exception: levels {−α, 0}, and max|q(w)| is α or q(w) = 0, both fixed points.
  quantizerContract(`uniform ${bits}-bit, scale max, identity STE`, () => uniformSubject({ bits }), { skip: bits === 1 ? {} : maxSkips });
}
quantizerContract('uniform 4-bit, scale max, clipped STE', () => uniformSubject({ bits: 4, ste: 'clipped' }), { skip: maxSkips });
// A fixed α does not depend on w: idempotent when recomputed too.
quantizerContract('uniform 3-bit, fixed scale 1.5, clipped STE', () => uniformSubject({ bits: 3, scale: 1.5, ste: 'clipped' }));
quantizerContract('uniform 5-bit, percentile 95', () => uniformSubject({ bits: 5, scale: { percentile: 95 } }), { skip: percentileSkips });
quantizerContract('uniform 4-bit, per row (axis 0), scale max', () => uniformSubject({ bits: 4, axis: 0 }), { skip: maxSkips });
quantizerContract('uniform 6-bit, per column (axis −1), percentile 90, clipped', () => uniformSubject({ bits: 6, axis: -1, scale: { percentile: 90 }, ste: 'clipped' }), {
  skip: percentileSkips,
  shapes: [
    [5, 8],
    [2, 3, 7],
  ],
});

describe('uniform quantizer', () => {
  before(async () => {
    await testBackend();
  });

  it('matches the papers’ formula on a hand-worked example (4 bits, α = max|w| = 2)', () => {
    // Δ = 2/8 = 0.25; codes round(w/Δ) clamped to [−8, 7].
    const w = new Float32Array([2, -2, 0.3, -0.3, 0.125, 0.375, -0.125, 1.9]);
    const expected = [1.75, -2, 0.25, -0.25, 0, 0.5, 0, 1.75]; // 0.125/Δ = 0.5 → 0 (even), 0.375/Δ = 1.5 → 2 (even)
    const q = tf.tidy(() => readF32(quantizeUniform(tf.tensor1d(w), { bits: 4 })));
    assert.deepEqual(Array.from(q), expected);
    assert.deepEqual(Array.from(quantizeUniformArray(w, { bits: 4 })), expected);
  });

  it('rounds exact ties half to even, tensor and twin alike, bit for bit', () => {
    for (const bits of [2, 3, 4, 8, 12, 16]) {
      // α = 1 (the first element), Δ = 2^{1−b}: (c + ½)Δ is an exact float32 tie for every c.
      const { qmin, qmax } = uniformRange(bits);
      const vals = [1];
      for (let c = qmin; c < qmax; c += Math.max(1, (qmax - qmin) >> 6)) vals.push((c + 0.5) * 2 ** (1 - bits));
      const w = new Float32Array(vals);
      const q = tf.tidy(() => readF32(quantizeUniform(tf.tensor1d(w), { bits })));
      expectBitsEqual(quantizeUniformArray(w, { bits }), q, `${bits} bits`);
      for (let i = 1; i < w.length; i++) {
        const code = q[i] / 2 ** (1 - bits);
        assert.equal(code % 2 === 0, true, `${bits} bits: tie ${w[i]} went to odd code ${code}`);
      }
    }
  });

  it('agrees with the twin bit for bit on 20k random values over many scales (8 and 16 bits)', () => {
    const rng = createRng(5);
    for (const bits of [8, 16]) {
      for (const std of [1e-3, 1, 37]) {
        const w = rng.normalArray(20_000, std);
        const q = tf.tidy(() => readF32(quantizeUniform(tf.tensor1d(w), { bits })));
        expectBitsEqual(quantizeUniformArray(w, { bits }), q, `${bits} bits, std ${std}`);
      }
    }
  });

  it('with scale max, recomputing α is not idempotent: the documented counter-example', () => {
    // b = 2, w = [1, −0.5]: α = 1, Δ = 0.5, q = [0.5, −0.5]; then α' = 0.5, Δ' = 0.25, q' = [0.25, −0.5].
    const w = new Float32Array([1, -0.5]);
    const q = quantizeUniformArray(w, { bits: 2 });
    assert.deepEqual(Array.from(q), [0.5, -0.5]);
    assert.deepEqual(Array.from(quantizeUniformArray(q, { bits: 2 })), [0.25, -0.5]);
    assert.deepEqual(Array.from(quantizeUniformArray(q, { bits: 2, scale: 1 })), [0.5, -0.5]);
  });

  it('picks α: max, fixed, percentile (inverted CDF), per channel', () => {
    const w = new Float32Array([0.1, -0.4, 0.3, -0.2, 5, 0.6]);
    assert.deepEqual(Array.from(uniformAlpha(w, { bits: 4 })), [5]);
    assert.deepEqual(Array.from(uniformAlpha(w, { bits: 4, scale: 0.7 })), [Math.fround(0.7)]);
    // |w| sorted: 0.1 0.2 0.3 0.4 0.6 5; 50 % of 6 = 3rd value, 80 % → ⌈4.8⌉ = 5th.
    assert.deepEqual(Array.from(uniformAlpha(w, { bits: 4, scale: { percentile: 50 } })), [Math.fround(0.3)]);
    assert.deepEqual(Array.from(uniformAlpha(w, { bits: 4, scale: { percentile: 80 } })), [Math.fround(0.6)]);
    assert.deepEqual(Array.from(uniformAlpha(w, { bits: 4, axis: 0 }, [2, 3])), [Math.fround(0.4), 5]);
    assert.deepEqual(Array.from(uniformAlpha(w, { bits: 4, axis: 1 }, [2, 3])), [Math.fround(0.2), 5, Math.fround(0.6)]);
    const t = tf.tensor(w, [3, 2]);
    assert.deepEqual(Array.from(uniformAlpha(t, { bits: 4, axis: -1 })), [5, Math.fround(0.6)]);
    t.dispose();
  });

  it('per-channel quantizes each row with its own α', () => {
    const w = new Float32Array([1, 0.5, -0.25, 100, 50, -25]);
    const q = tf.tidy(() => readF32(quantizeUniform(tf.tensor2d(w, [2, 3]), { bits: 3, axis: 0 })));
    // Row 0: Δ = 0.25 → codes [4→3, 2, −1]; row 1: Δ = 25 → [3, 2, −1].
    assert.deepEqual(Array.from(q), [0.75, 0.5, -0.25, 75, 50, -25]);
    assert.deepEqual(Array.from(quantizeUniformArray(w, { bits: 3, axis: 0 }, [2, 3])), Array.from(q));
  });

  it('α = 0 gives zeros, never NaN, also when only the percentile is 0', async () => {
    const w = new Float32Array([0, 0, 0, 0, 0, 0, 0, -3]);
    const opts = { bits: 4, scale: { percentile: 50 } };
    await expectNoLeaks(() => {
      const q = tf.tidy(() => readF32(quantizeUniform(tf.tensor1d(w), opts)));
      expectBitsEqual(q, new Float32Array(8), 'tensor');
    }, 'percentile-0 forward');
    expectBitsEqual(quantizeUniformArray(w, opts), new Float32Array(8), 'twin');
    expectBitsEqual(quantizeUniformArray(w, { bits: 4, scale: 0 }), new Float32Array(8), 'fixed 0');
  });

  it('clipped STE passes exactly where the clamp is inactive; α gets no gradient', () => {
    // α = 1 fixed, 2 bits: Δ = 0.5, codes [−2, 1]; clamp inactive for w/Δ ∈ [−2.5, 1.5).
    const w = new Float32Array([-1.3, -1.2, 0, 0.7, 0.8, 3]);
    const gClip = tf.tidy(() => readF32(tf.grad((x: tf.Tensor) => tf.sum(quantizeUniform(x, { bits: 2, scale: 1, ste: 'clipped' })))(tf.tensor1d(w))));
    assert.deepEqual(Array.from(gClip), [0, 1, 1, 1, 0, 0]);
    // Identity STE with α = max|w|: d/dw Σ q = 1 everywhere — no extra term from ∂α/∂w.
    const gId = tf.tidy(() => readF32(tf.grad((x: tf.Tensor) => tf.sum(quantizeUniform(x, { bits: 2 })))(tf.tensor1d(w))));
    assert.deepEqual(Array.from(gId), [1, 1, 1, 1, 1, 1]);
  });

  it('works under tf.variableGrads inside a training-style step', async () => {
    const v = tf.variable(tf.tensor2d([0.3, -0.9, 0.1, 0.5], [2, 2]));
    await expectNoLeaks(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(quantizeUniform(v, { bits: 4 }))) as tf.Scalar, [v]);
      // d/dw Σ q² = 2q (identity STE).
      const q = quantizeUniformArray(v.dataSync() as Float32Array, { bits: 4 });
      expectArraysClose(grads[v.name], q.map((x) => 2 * x), 1e-6, 0, 'gradient');
      value.dispose();
      tf.dispose(grads);
    }, 'variableGrads');
    v.dispose();
  });

  it('validates its options with messages that name what was expected', () => {
    const w = new Float32Array([1, 2]);
    const x = tf.tensor1d(w);
    try {
      assert.throws(() => quantizeUniform(x, { bits: 0 }), /quantizeUniform: bits must be an integer in 1\.\.16, got 0/);
      assert.throws(() => quantizeUniformArray(w, { bits: 17 }), /bits must be an integer in 1\.\.16, got 17/);
      assert.throws(() => quantizeUniformArray(w, { bits: 2.5 }), /bits must be an integer in 1\.\.16, got 2\.5/);
      assert.throws(() => quantizeUniform(x, { bits: 4, scale: -1 }), /scale must be 'max', a finite number ≥ 0, \{ percentile: p \}, got -1/);
      assert.throws(() => quantizeUniform(x, { bits: 4, scale: [1, 2] }), /scale must be .*got \[1,2\]/);
      assert.throws(() => quantizeUniform(x, { bits: 4, scale: { percentile: 0 } }), /percentile must be a number in \(0, 100\], got 0/);
      assert.throws(() => quantizeUniform(x, { bits: 4, ste: 'clip' as never }), /ste must be 'identity' or 'clipped', got "clip"/);
      assert.throws(() => quantizeUniform(x, { bits: 4, axis: 1 }), /axis must be an integer in -1\.\.0 for a rank-1 tensor, got 1/);
      assert.throws(() => quantizeUniformArray(w, { bits: 4, axis: 0, scale: [1, 2, 3] }), /3 per-channel scales for 2 channels/);
      assert.throws(() => quantizeUniformArray(w, { bits: 4 }, [3]), /shape \[3\] does not match 2 values/);
      assert.throws(() => uniformStep(1, 33), /uniformStep: bits must be an integer in 1\.\.32, got 33/);
    } finally {
      x.dispose();
    }
  });
});
