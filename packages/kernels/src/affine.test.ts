import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, createRng } from '@orthoquant/runtime';
import { expectArraysClose, relativeError, expectNoLeaks } from '@orthoquant/runtime/testing';
import { affineRows, affineForward, affineBackward, readoutCrossEntropy, availableImplementations, setKernelThreads } from './index.js';
import type { AffineSpec } from './index.js';
import { randomTensor, describeEveryKernel } from './testing.js';

/** tfjs reference: f(x) W + c over the rows of x, differentiated by tfjs. */
function reference(x: tf.Tensor, W: tf.Tensor2D, c: tf.Tensor1D, relu: boolean): tf.Tensor {
  return tf.tidy(() => {
    const [k, m] = W.shape;
    const rows = x.reshape([-1, k]) as tf.Tensor2D;
    const a = relu ? tf.relu(rows) : rows;
    return tf.add(tf.matMul(a, W), c).reshape([...x.shape.slice(0, -1), m]);
  });
}

/** One-hot rows (a fraction of rows all zero, like the copy task's blanks) as [T, B, d]. */
function oneHot(T: number, B: number, d: number, seed: string): tf.Tensor {
  const rng = createRng(seed);
  const data = new Float32Array(T * B * d);
  for (let r = 0; r < T * B; r++) {
    if (rng.uniform() < 0.2) continue;
    data[r * d + Math.floor(rng.uniform() * d)] = 1;
  }
  return tf.tensor(data, [T, B, d]);
}

interface Case {
  name: string;
  x: () => tf.Tensor;
  k: number;
  m: number;
  relu: boolean;
  inputGrad: boolean;
}
const CASES: Case[] = [
  { name: 'readout ReLU(H) V + c, H [T, B, n]', x: () => randomTensor([7, 3, 16], 'ro/x'), k: 16, m: 5, relu: true, inputGrad: true },
  { name: 'input projection of one-hot rows [T, B, d]', x: () => oneHot(7, 3, 4, 'oh'), k: 4, m: 16, relu: false, inputGrad: false },
  { name: 'projection of dense rows [N, d] with dx (embeddings)', x: () => randomTensor([21, 6], 'emb/x'), k: 6, m: 24, relu: false, inputGrad: true },
  { name: 'readout on the last step [B, n], linear', x: () => randomTensor([3, 16], 'last/x'), k: 16, m: 9, relu: false, inputGrad: true },
  { name: 'ReLU readout with dx through the tfjs fallback (no inputGrad)', x: () => randomTensor([5, 4, 12], 'fb/x'), k: 12, m: 7, relu: true, inputGrad: false },
];

describeEveryKernel('affine rows', (backend) => {

  for (const cs of CASES) {
    it(`${cs.name}: forward and dx, dW, dc match tfjs`, () => {
      const x = cs.x();
      const W = randomTensor([cs.k, cs.m], `${cs.name}/W`, 1 / Math.sqrt(cs.k)) as tf.Tensor2D;
      const c = randomTensor([cs.m], `${cs.name}/c`) as tf.Tensor1D;
      const y = affineRows(x, W, c, { relu: cs.relu, inputGrad: cs.inputGrad });
      const yRef = reference(x, W, c, cs.relu);
      assert.deepEqual(y.shape, [...x.shape.slice(0, -1), cs.m]);
      expectArraysClose(y, yRef, 1e-5, 1e-5, `${cs.name}: y`);
      const C = randomTensor(y.shape, `${cs.name}/C`);
      const got = tf.grads((xx: tf.Tensor, ww: tf.Tensor, cc: tf.Tensor) => tf.sum(tf.mul(affineRows(xx, ww as tf.Tensor2D, cc as tf.Tensor1D, cs), C)))([x, W, c]);
      const want = tf.grads((xx: tf.Tensor, ww: tf.Tensor, cc: tf.Tensor) => tf.sum(tf.mul(reference(xx, ww as tf.Tensor2D, cc as tf.Tensor1D, cs.relu), C)))([x, W, c]);
      ['dx', 'dW', 'dc'].forEach((name, i) => {
        assert.deepEqual(got[i].shape, want[i].shape, `${cs.name}: ${name} shape`);
        const err = relativeError(got[i], want[i]);
        assert.ok(err < 1e-4, `${cs.name}: ${name} relative error ${err.toExponential(3)}`);
      });
      tf.dispose([x, W, c, y, yRef, C, ...got, ...want]);
    });
  }

  it('gradients w.r.t. W and c only (x a constant) skip dx', () => {
    const x = oneHot(6, 5, 3, 'wonly');
    const W = randomTensor([3, 8], 'wonly/W') as tf.Tensor2D;
    const c = randomTensor([8], 'wonly/c') as tf.Tensor1D;
    const f = (ww: tf.Tensor, cc: tf.Tensor) => tf.sum(tf.square(affineRows(x, ww as tf.Tensor2D, cc as tf.Tensor1D)));
    const fr = (ww: tf.Tensor, cc: tf.Tensor) => tf.sum(tf.square(reference(x, ww as tf.Tensor2D, cc as tf.Tensor1D, false)));
    const got = tf.grads(f)([W, c]);
    const want = tf.grads(fr)([W, c]);
    got.forEach((g, i) => assert.ok(relativeError(g, want[i]) < 1e-4, `grad ${i}`));
    tf.dispose([x, W, c, ...got, ...want]);
  });

  it('forward + backward leak no tensors', async () => {
    const x = randomTensor([4, 3, 8], 'leak/x');
    const W = randomTensor([8, 5], 'leak/W') as tf.Tensor2D;
    const c = randomTensor([5], 'leak/c') as tf.Tensor1D;
    await expectNoLeaks(() => {
      tf.tidy(() => affineRows(x, W, c, { relu: true })).dispose();
      const g1 = tf.grads((xx: tf.Tensor, ww: tf.Tensor, cc: tf.Tensor) => affineRows(xx, ww as tf.Tensor2D, cc as tf.Tensor1D, { relu: true, inputGrad: true }).square().sum())([x, W, c]);
      const g2 = tf.grads((ww: tf.Tensor, cc: tf.Tensor) => affineRows(x, ww as tf.Tensor2D, cc as tf.Tensor1D).sum())([W, c]);
      const g3 = tf.grads((xx: tf.Tensor) => affineRows(xx, W, c, { relu: true }).sum())([x]);
      tf.dispose([...g1, ...g2, ...g3]);
    }, 'affine rows');
    tf.dispose([x, W, c]);
  });

  it('the Identity kernel is restored after our kernels ran (saves shared only inside them)', () => {
    const before = tf.getKernel('Identity', backend)!.kernelFunc;
    const x = randomTensor([4, 3, 8], 'id/x');
    const W = randomTensor([8, 5], 'id/W') as tf.Tensor2D;
    const c = randomTensor([5], 'id/c') as tf.Tensor1D;
    const g = tf.grads((xx: tf.Tensor) => affineRows(xx, W, c, { relu: true, inputGrad: true }).sum())([x]);
    assert.equal(tf.getKernel('Identity', backend)!.kernelFunc, before);
    const copy = tf.clone(x);
    expectArraysClose(copy, x, 0, 0, 'clone');
    tf.dispose([x, W, c, copy, ...g]);
  });

  it('rejects mismatched shapes and dtypes', () => {
    const x = tf.zeros([4, 3]);
    const W = tf.zeros([4, 2]) as tf.Tensor2D;
    assert.throws(() => affineRows(x, W, tf.zeros([2]) as tf.Tensor1D), /rows of 3/);
    assert.throws(() => affineRows(tf.zeros([4, 4]), W, tf.zeros([3]) as tf.Tensor1D), /c must be \[2\]/);
    assert.throws(() => affineRows(tf.zeros([4, 4], 'int32'), W, tf.zeros([2]) as tf.Tensor1D), /float32/);
    tf.disposeVariables();
  });
});

describe('affine rows on typed arrays', () => {
  it('native (multi-threaded) equals JS at a large shape with ReLU and zero rows', { skip: !availableImplementations().includes('native') }, () => {
    const spec: AffineSpec = { N: 4000, k: 64, m: 24, relu: true };
    const rng = createRng('big');
    const x = rng.normalArray(spec.N * spec.k);
    for (let r = 0; r < spec.N; r += 7) x.fill(0, r * spec.k, (r + 1) * spec.k);
    const W = rng.normalArray(spec.k * spec.m, 0.1);
    const c = rng.normalArray(spec.m);
    const dy = rng.normalArray(spec.N * spec.m);
    setKernelThreads(3);
    try {
      const yn = affineForward(spec, x, W, c, { implementation: 'native' });
      const yj = affineForward(spec, x, W, c, { implementation: 'js' });
      expectArraysClose(yn, yj, 1e-5, 1e-5, 'y');
      for (const spec2 of [spec, { ...spec, k: 10, m: 128, relu: false, N: 2000 }]) {
        const x2 = spec2 === spec ? x : rng.normalArray(spec2.N * spec2.k);
        const W2 = spec2 === spec ? W : rng.normalArray(spec2.k * spec2.m, 0.1);
        const dy2 = spec2 === spec ? dy : rng.normalArray(spec2.N * spec2.m);
        const gn = affineBackward(spec2, x2, W2, dy2, { inputGrad: true, implementation: 'native' });
        const gj = affineBackward(spec2, x2, W2, dy2, { inputGrad: true, implementation: 'js' });
        for (const key of ['dx', 'dw', 'dc'] as const) {
          const err = relativeError(gn[key]!, gj[key]!);
          assert.ok(err < 1e-5, `k=${spec2.k} ${key}: relative error ${err.toExponential(3)}`);
        }
      }
    } finally {
      setKernelThreads(null);
    }
  });

  it('checks buffer lengths', () => {
    const spec: AffineSpec = { N: 2, k: 3, m: 2, relu: false };
    assert.throws(() => affineForward(spec, new Float32Array(5), new Float32Array(6), new Float32Array(2)), /x has 5 values, expected 6/);
    assert.throws(() => affineBackward(spec, new Float32Array(6), new Float32Array(6), new Float32Array(3)), /dy has 3 values/);
  });
});

/** tfjs reference: mean softmax cross-entropy of the reference logits. */
function referenceCe(x: tf.Tensor, W: tf.Tensor2D, c: tf.Tensor1D, t: tf.Tensor, relu: boolean): tf.Scalar {
  return tf.tidy(() => {
    const m = W.shape[1];
    const y = reference(x, W, c, relu).reshape([-1, m]);
    return tf.mean(tf.sub(tf.logSumExp(y, 1), tf.sum(tf.mul(y, tf.oneHot(t.reshape([-1]) as tf.Tensor1D, m)), 1))) as tf.Scalar;
  });
}

describeEveryKernel('readout + softmax cross-entropy', () => {

  for (const relu of [true, false]) {
    for (const shape of [[7, 3, 16], [40, 12]]) {
      const label = `x [${shape.join(', ')}], ${relu ? 'ReLU' : 'linear'}`;
      it(`${label}: loss and dx, dW, dc (through a scaled loss) match tfjs`, () => {
        const k = shape[shape.length - 1];
        const m = 9;
        const x = randomTensor(shape, `${label}/x`, 2);
        const W = randomTensor([k, m], `${label}/W`, 1) as tf.Tensor2D;
        const c = randomTensor([m], `${label}/c`) as tf.Tensor1D;
        const rng = createRng(`${label}/t`);
        const t = tf.tensor(Int32Array.from({ length: x.size / k }, () => Math.floor(rng.uniform() * m)), shape.slice(0, -1), 'int32');
        const loss = readoutCrossEntropy(x, W, c, t, { relu });
        const want = referenceCe(x, W, c, t, relu);
        assert.deepEqual(loss.shape, []);
        const el = relativeError(loss, want);
        assert.ok(el < 1e-5, `${label}: loss relative error ${el.toExponential(3)}`);
        const got = tf.grads((xx: tf.Tensor, ww: tf.Tensor, cc: tf.Tensor) => tf.mul(readoutCrossEntropy(xx, ww as tf.Tensor2D, cc as tf.Tensor1D, t, { relu }), 2.5))([x, W, c]);
        const ref = tf.grads((xx: tf.Tensor, ww: tf.Tensor, cc: tf.Tensor) => tf.mul(referenceCe(xx, ww as tf.Tensor2D, cc as tf.Tensor1D, t, relu), 2.5))([x, W, c]);
        ['dx', 'dW', 'dc'].forEach((name, i) => {
          assert.deepEqual(got[i].shape, ref[i].shape, `${label}: ${name} shape`);
          const err = relativeError(got[i], ref[i]);
          assert.ok(err < 1e-4, `${label}: ${name} relative error ${err.toExponential(3)}`);
        });
        tf.dispose([x, W, c, t, loss, want, ...got, ...ref]);
      });
    }
  }

  it('gradients w.r.t. W and c only (inputGrad off), no leaks; bad targets are errors', async () => {
    const x = randomTensor([6, 5, 8], 'ce/x');
    const W = randomTensor([8, 4], 'ce/W') as tf.Tensor2D;
    const c = randomTensor([4], 'ce/c') as tf.Tensor1D;
    const t = tf.tensor2d(Int32Array.from({ length: 30 }, (_, i) => i % 4), [6, 5], 'int32');
    await expectNoLeaks(() => {
      const got = tf.grads((ww: tf.Tensor, cc: tf.Tensor) => readoutCrossEntropy(x, ww as tf.Tensor2D, cc as tf.Tensor1D, t, { relu: true, inputGrad: false }))([W, c]);
      const ref = tf.grads((ww: tf.Tensor, cc: tf.Tensor) => referenceCe(x, ww as tf.Tensor2D, cc as tf.Tensor1D, t, true))([W, c]);
      got.forEach((g, i) => assert.ok(relativeError(g, ref[i]) < 1e-4, `grad ${i}`));
      tf.dispose([...got, ...ref]);
      tf.tidy(() => readoutCrossEntropy(x, W, c, t)).dispose();
    }, 'readout cross-entropy');
    const bad = tf.tensor2d(Int32Array.from({ length: 30 }, (_, i) => (i === 7 ? 4 : 0)), [6, 5], 'int32');
    assert.throws(() => readoutCrossEntropy(x, W, c, bad).dispose(), /target 4 at row 7 is outside \[0, 4\)/);
    assert.throws(() => readoutCrossEntropy(x, W, c, tf.zeros([6, 5])), /targets must be int32/);
    tf.dispose([x, W, c, t, bad]);
  });
});
