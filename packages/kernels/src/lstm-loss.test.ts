import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, createRng } from '@orthoquant/runtime';
import { testBackend, expectNoLeaks } from '@orthoquant/runtime/testing';
import { lstmRnnLoss, lstmLossForward, lstmLossBackward, setKernelThreads, availableImplementations } from './index.js';
import type { LstmLossSpec } from './index.js';
import {
  referenceLstm, randomTensor, describeEveryKernel, lossInputs, lossIndices, lossTargets, referenceInputRows, referenceReadoutLoss, expectLossAndGradients, typedLossInputs,
  expectNativeAgreesWithJs,
} from './testing.js';

const B = 3;
const K = 5;
const CLASSES = 4;

const inputs = (T: number, seed: string) => lossInputs(T, B, K, seed);
const indicesOf = (T: number, seed: string) => lossIndices(T, B, K, seed);
const targetsOf = (T: number, seed: string, lastOnly: boolean) => lossTargets(T, B, CLASSES, seed, lastOnly);

/** The same loss composed of tfjs ops (one-hot matmul for index inputs, the per-step LSTM, the readout on every step or on h_{T−1}), differentiated by tfjs. */
function referenceLoss(
  x: tf.Tensor3D | tf.Tensor2D, Wx: tf.Tensor2D, b: tf.Tensor1D, Wh: tf.Tensor2D, h0: tf.Tensor2D | null, c0: tf.Tensor2D | null, V: tf.Tensor2D, c: tf.Tensor1D,
  targets: tf.Tensor2D | tf.Tensor1D, relu: boolean,
): tf.Scalar {
  return tf.tidy(() => {
    const [T] = x.shape;
    const n = Wh.shape[0];
    const z = tf.add(tf.matMul(referenceInputRows(x, K), Wx), b).reshape([T, B, 4 * n]) as tf.Tensor3D;
    return referenceReadoutLoss(referenceLstm(z, tf.transpose(Wh), h0, c0), V, c, targets, relu);
  });
}

describeEveryKernel('lstmRnnLoss', () => {
  // T a multiple of the segment (8, k = 4), not (9, k = 4 and k = 2), k = 0 (one segment) and the
  // default k = ⌈√T⌉; float and index inputs; every-step and last-step readouts; with and without h0, c0.
  const cases: { T: number; k?: number; lastOnly: boolean; index: boolean; relu: boolean; h0: boolean; c0: boolean; n: number }[] = [
    { T: 8, k: 4, lastOnly: false, index: false, relu: false, h0: false, c0: false, n: 8 },
    { T: 9, k: 4, lastOnly: false, index: true, relu: true, h0: true, c0: true, n: 8 },
    { T: 9, k: 2, lastOnly: true, index: false, relu: false, h0: true, c0: false, n: 5 },
    { T: 7, k: 0, lastOnly: true, index: true, relu: false, h0: false, c0: true, n: 8 },
    { T: 10, lastOnly: false, index: true, relu: false, h0: false, c0: false, n: 20 },
  ];
  for (const cs of cases) {
    const { T, n } = cs;
    const label = `T=${T} n=${n}, checkpoints every ${cs.k ?? '⌈√T⌉'}, ${cs.index ? 'index' : 'float'} inputs, ${cs.relu ? 'ReLU' : 'linear'} readout ${cs.lastOnly ? 'on the last step' : 'on every step'}, ${cs.h0 ? 'h0' : 'h0 = 0'}, ${cs.c0 ? 'c0' : 'c0 = 0'}`;
    it(`${label}: loss and every gradient match tfjs autodiff of the composed LSTM`, () => {
      const x = cs.index ? indicesOf(T, `${label}/i`) : inputs(T, `${label}/x`);
      const Wx = randomTensor([K, 4 * n], `${label}/Wx`, 0.5) as tf.Tensor2D;
      const b = randomTensor([4 * n], `${label}/b`, 0.1) as tf.Tensor1D;
      const Wh = randomTensor([n, 4 * n], `${label}/Wh`, 0.4) as tf.Tensor2D;
      const h0 = cs.h0 ? (randomTensor([B, n], `${label}/h0`, 0.5) as tf.Tensor2D) : null;
      const c0 = cs.c0 ? (randomTensor([B, n], `${label}/c0`, 0.5) as tf.Tensor2D) : null;
      const V = randomTensor([n, CLASSES], `${label}/V`, 0.5) as tf.Tensor2D;
      const c = randomTensor([CLASSES], `${label}/c`, 0.1) as tf.Tensor1D;
      const targets = targetsOf(T, `${label}/t`, cs.lastOnly);
      const params = [Wx, b, Wh, ...(h0 ? [h0] : []), ...(c0 ? [c0] : []), V, c];
      const unpack = (ps: tf.Tensor[]) => {
        const [ww, bb, hh] = ps;
        let i = 3;
        const s0 = h0 ? (ps[i++] as tf.Tensor2D) : null;
        const k0 = c0 ? (ps[i++] as tf.Tensor2D) : null;
        return [ww as tf.Tensor2D, bb as tf.Tensor1D, hh as tf.Tensor2D, s0, k0, ps[i] as tf.Tensor2D, ps[i + 1] as tf.Tensor1D] as const;
      };
      const fused = (...ps: tf.Tensor[]) => lstmRnnLoss(x, ...unpack(ps), targets, { readoutRelu: cs.relu, ...(cs.k === undefined ? {} : { checkpointEvery: cs.k }) });
      const ref = (...ps: tf.Tensor[]) => referenceLoss(x, ...unpack(ps), targets, cs.relu);
      expectLossAndGradients(label, fused, ref, params, ['dWx', 'db', 'dWh', ...(h0 ? ['dh0'] : []), ...(c0 ? ['dc0'] : []), 'dV', 'dc']);
      tf.dispose([x, targets, ...params]);
    });
  }

  it('leaks no tensors; rejects bad inputs with messages that name them', async () => {
    const T = 6;
    const n = 8;
    const x = inputs(T, 'leak/x');
    const Wx = randomTensor([K, 4 * n], 'leak/Wx', 0.5) as tf.Tensor2D;
    const b = tf.zeros([4 * n]) as tf.Tensor1D;
    const Wh = randomTensor([n, 4 * n], 'leak/Wh', 0.3) as tf.Tensor2D;
    const c0 = randomTensor([B, n], 'leak/c0') as tf.Tensor2D;
    const V = randomTensor([n, CLASSES], 'leak/V') as tf.Tensor2D;
    const c = tf.zeros([CLASSES]) as tf.Tensor1D;
    const targets = targetsOf(T, 'leak/t', false);
    await expectNoLeaks(() => {
      lstmRnnLoss(x, Wx, b, Wh, null, c0, V, c, targets).dispose();
      const g = tf.grads((ww: tf.Tensor, hh: tf.Tensor, cc: tf.Tensor, vv: tf.Tensor) =>
        lstmRnnLoss(x, ww as tf.Tensor2D, b, hh as tf.Tensor2D, null, cc as tf.Tensor2D, vv as tf.Tensor2D, c, targets))([Wx, Wh, c0, V]);
      tf.dispose(g);
    }, 'lstmRnnLoss');
    const idx = indicesOf(T, 'leak/i');
    assert.throws(() => lstmRnnLoss(idx.toFloat() as tf.Tensor2D, Wx, b, Wh, null, null, V, c, targets), /lstmRnnLoss: x \[6, 3\] must be int32 \(row indices into Wx\), got float32/);
    assert.throws(() => lstmRnnLoss(x, Wx, b, tf.zeros([n, n]) as tf.Tensor2D, null, null, V, c, targets), /lstmRnnLoss: Wh must be \[8, 32\], got \[8, 8\]/);
    assert.throws(() => lstmRnnLoss(x, Wx, b, Wh, null, tf.zeros([B, 3]) as tf.Tensor2D, V, c, targets), /lstmRnnLoss: c0 must be \[3, 8\], got \[3, 3\]/);
    assert.throws(() => lstmRnnLoss(x, Wx, b, Wh, null, null, V, c, tf.zeros([B + 1], 'int32') as tf.Tensor1D), /lstmRnnLoss: targets must be \[3\], got \[4\]/);
    assert.throws(() => lstmRnnLoss(x, Wx, b, Wh, null, null, V, c, tf.zeros([T, B]) as tf.Tensor2D), /lstmRnnLoss: targets must be int32, got float32/);
    const far = tf.fill([T, B], K, 'int32') as tf.Tensor2D;
    assert.throws(() => lstmRnnLoss(far, Wx, b, Wh, null, null, V, c, targets), /input index 5 at row 0 is outside \[0, 5\)/);
    tf.dispose([x, Wx, b, Wh, c0, V, c, targets, idx, far]);
  });
});

describe('LSTM loss on typed arrays', () => {
  before(() => testBackend());
  after(() => setKernelThreads(null));

  const spec: LstmLossSpec = { T: 50, B: 37, n: 20, k: 6, classes: 5, relu: false, checkpointEvery: 8, lastOnly: false, indexInputs: false };
  function data(seed: string, sp: LstmLossSpec) {
    const rng = createRng(seed);
    const { B: bb, n, k, classes } = sp;
    return {
      ...typedLossInputs(sp), Wx: rng.normalArray(k * 4 * n, 0.5), b: rng.normalArray(4 * n, 0.1), Wh: rng.normalArray(n * 4 * n, 1 / Math.sqrt(n)), h0: rng.normalArray(bb * n, 0.3), c0: rng.normalArray(bb * n, 0.3),
      V: rng.normalArray(n * classes, 0.3), c: rng.normalArray(classes, 0.1),
    };
  }

  for (const sp of [spec, { ...spec, lastOnly: true, indexInputs: true, relu: true, checkpointEvery: 7, n: 33 }]) {
    const what = `${sp.indexInputs ? 'index' : 'float'} inputs, ${sp.lastOnly ? 'last-step' : 'every-step'} readout, n=${sp.n}, checkpoints every ${sp.checkpointEvery} (T=${sp.T})`;
    it(`${what}: native and JS agree; native numbers are bit-identical with 1, 2 and 3 threads`, (t) => {
      if (!availableImplementations().includes('native')) return t.skip('native kernels unavailable');
      const inp = data('agree', sp);
      expectNativeAgreesWithJs((implementation) => {
        const f = lstmLossForward(sp, inp, { implementation });
        return { loss: f.loss, grads: { ...lstmLossBackward(sp, inp, f.checkpoints, 1, { implementation }) } };
      });
    });
  }

  it('checks its buffers', () => {
    const inp = data('check', spec);
    assert.throws(() => lstmLossForward(spec, { ...inp, targets: new Int32Array(3) }), /lstmLossForward: targets has 3 values, expected 1850/);
    assert.throws(() => lstmLossForward(spec, { ...inp, Wh: new Float32Array(5) }), /lstmLossForward: Wh has 5 values, expected 1600/);
    assert.throws(() => lstmLossBackward(spec, inp, new Float32Array(3)), /lstmLossBackward: checkpoints has 3 values, expected 8880/);
  });
});
