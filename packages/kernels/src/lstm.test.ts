import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, createRng } from '@orthoquant/runtime';
import { testBackend, expectArraysClose, relativeError, expectNoLeaks } from '@orthoquant/runtime/testing';
import { lstmScan, lstmForward, lstmBackward, setKernelThreads, availableImplementations } from './index.js';
import type { LstmSpec } from './index.js';
import { referenceLstm, randomTensor, describeEveryKernel } from './testing.js';

const T = 7;
const B = 3;

describeEveryKernel('fused LSTM', () => {

  for (const n of [8, 5]) {
    for (const [withH0, withC0] of [[false, false], [true, true], [true, false], [false, true]] as const) {
      const label = `n=${n}, ${withH0 ? 'h0' : 'h0 = 0'}, ${withC0 ? 'c0' : 'c0 = 0'}`;
      it(`${label}: forward and every gradient match the per-step tfjs reference`, () => {
        const gates = randomTensor([T, B, 4 * n], `${label}/g`) as tf.Tensor3D;
        const W = randomTensor([4 * n, n], `${label}/W`, 0.5) as tf.Tensor2D;
        const h0 = withH0 ? (randomTensor([B, n], `${label}/h0`) as tf.Tensor2D) : null;
        const c0 = withC0 ? (randomTensor([B, n], `${label}/c0`) as tf.Tensor2D) : null;
        const C = randomTensor([T, B, n], `${label}/C`);
        const inputs = [gates, W, ...(h0 ? [h0] : []), ...(c0 ? [c0] : [])];
        const lossOf = (scan: typeof lstmScan) => (...xs: tf.Tensor[]) => {
          const hh = h0 ? (xs[2] as tf.Tensor2D) : null;
          const cc = c0 ? (xs[h0 ? 3 : 2] as tf.Tensor2D) : null;
          return tf.sum(tf.mul(scan(xs[0] as tf.Tensor3D, xs[1] as tf.Tensor2D, hh, cc), C)) as tf.Scalar;
        };
        const H = lstmScan(gates, W, h0, c0);
        const Href = referenceLstm(gates, W, h0, c0);
        expectArraysClose(H, Href, 1e-5, 1e-5, `${label}: H`);
        const got = tf.grads(lossOf(lstmScan))(inputs);
        const want = tf.grads(lossOf(referenceLstm))(inputs);
        const names = ['dgates', 'dW_hh', ...(h0 ? ['dh0'] : []), ...(c0 ? ['dc0'] : [])];
        names.forEach((name, i) => {
          assert.deepEqual(got[i].shape, inputs[i].shape, `${label}: ${name} shape`);
          const err = relativeError(got[i], want[i]);
          assert.ok(err < 1e-4, `${label}: ${name} relative error ${err.toExponential(3)}`);
        });
        tf.dispose([...inputs, C, H, Href, ...got, ...want]);
      });
    }
  }

  it('forward + backward leak no tensors (the saved-only outputs included)', async () => {
    const gates = randomTensor([T, B, 32], 'leak/g') as tf.Tensor3D;
    const W = randomTensor([32, 8], 'leak/W', 0.3) as tf.Tensor2D;
    const c0 = randomTensor([B, 8], 'leak/c0') as tf.Tensor2D;
    await expectNoLeaks(() => {
      lstmScan(gates, W).dispose();
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => lstmScan(a as tf.Tensor3D, b as tf.Tensor2D, null, c as tf.Tensor2D).square().sum())([gates, W, c0]);
      tf.dispose(g);
    }, 'lstmScan');
    tf.dispose([gates, W, c0]);
  });

  it('rejects bad shapes with messages that name them', () => {
    const g = tf.zeros([2, 3, 12]) as tf.Tensor3D;
    assert.throws(() => lstmScan(tf.zeros([2, 3, 10]) as tf.Tensor3D, tf.zeros([10, 2]) as tf.Tensor2D), /lstmScan: gates must be a rank-3 tensor \[T, B, 4n\], got \[2, 3, 10\]/);
    assert.throws(() => lstmScan(g, tf.zeros([12, 4]) as tf.Tensor2D), /lstmScan: W_hh must be \[12, 3\] to match gates \[2, 3, 12\], got \[12, 4\]/);
    assert.throws(() => lstmScan(g, tf.zeros([12, 3]) as tf.Tensor2D, null, tf.zeros([3, 4]) as tf.Tensor2D), /lstmScan: c0 must be \[3, 3\], got \[3, 4\]/);
  });
});

describe('LSTM typed-array layer', () => {
  before(() => testBackend());
  for (const spec of [{ T: 30, B: 7, n: 20 }, { T: 60, B: 13, n: 36 }] as LstmSpec[]) {
  it(`native (3 threads) and JS agree: T=${spec.T} B=${spec.B} n=${spec.n}`, (t) => {
    if (!availableImplementations().includes('native')) return t.skip('native kernels unavailable');
    const rng = createRng('lstm-agree');
    const size = spec.T * spec.B * spec.n;
    const inp = { gates: rng.normalArray(4 * size), w: rng.normalArray(4 * spec.n * spec.n, 0.3), h0: rng.normalArray(spec.B * spec.n), c0: rng.normalArray(spec.B * spec.n) };
    const dH = rng.normalArray(size);
    setKernelThreads(3);
    const a = lstmForward(spec, inp, { implementation: 'native' });
    const ga = lstmBackward(spec, inp, a, dH, { implementation: 'native' });
    setKernelThreads(null);
    const b = lstmForward(spec, inp, { implementation: 'js' });
    for (const k of ['H', 'C', 'S'] as const) assert.ok(relativeError(a[k], b[k]) < 1e-5, `${k}: ${relativeError(a[k], b[k])}`);
    const gb = lstmBackward(spec, inp, b, dH, { implementation: 'js' });
    for (const k of ['dgates', 'dw', 'dh0', 'dc0'] as const) assert.ok(relativeError(ga[k]!, gb[k]!) < 1e-4, `${k}: ${relativeError(ga[k]!, gb[k]!)}`);
  });
  }
});
