import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, createRng } from '@orthoquant/runtime';
import { testBackend, relativeError, expectNoLeaks } from '@orthoquant/runtime/testing';
import { lstmRnnLoss, lstmLossForward, lstmLossBackward, setKernelThreads, availableImplementations } from './index.js';
import type { LstmLossSpec } from './index.js';
import { referenceLstm, randomTensor, describeEveryKernel } from './testing.js';

const B = 3;
const K = 5;
const CLASSES = 4;

/** One-hot-ish inputs (most rows one-hot, some dense) so that the zero skipping is exercised. */
function inputs(T: number, seed: string): tf.Tensor3D {
  const rng = createRng(seed);
  const x = new Float32Array(T * B * K);
  for (let r = 0; r < T * B; r++) {
    if (r % 4 === 3) for (let j = 0; j < K; j++) x[r * K + j] = rng.normal();
    else x[r * K + Math.floor(rng.uniform() * K)] = 1;
  }
  return tf.tensor3d(x, [T, B, K]);
}

function indicesOf(T: number, seed: string): tf.Tensor2D {
  const rng = createRng(seed);
  return tf.tensor2d(Int32Array.from({ length: T * B }, () => Math.floor(rng.uniform() * K)), [T, B], 'int32');
}

function targetsOf(T: number, seed: string, lastOnly: boolean): tf.Tensor2D | tf.Tensor1D {
  const rng = createRng(seed);
  const data = Int32Array.from({ length: lastOnly ? B : T * B }, () => Math.floor(rng.uniform() * CLASSES));
  return lastOnly ? tf.tensor1d(data, 'int32') : tf.tensor2d(data, [T, B], 'int32');
}

/** The same loss composed of tfjs ops (one-hot matmul for index inputs, the per-step LSTM, the readout on every step or on h_{T−1}), differentiated by tfjs. */
function referenceLoss(
  x: tf.Tensor3D | tf.Tensor2D, Wx: tf.Tensor2D, b: tf.Tensor1D, Wh: tf.Tensor2D, h0: tf.Tensor2D | null, c0: tf.Tensor2D | null, V: tf.Tensor2D, c: tf.Tensor1D,
  targets: tf.Tensor2D | tf.Tensor1D, relu: boolean,
): tf.Scalar {
  return tf.tidy(() => {
    const [T] = x.shape;
    const n = Wh.shape[0];
    const rows = x.rank === 2 ? tf.oneHot(x.reshape([T * B]) as tf.Tensor1D, K).toFloat() : x.reshape([T * B, K]);
    const z = tf.add(tf.matMul(rows as tf.Tensor2D, Wx), b).reshape([T, B, 4 * n]) as tf.Tensor3D;
    const H = referenceLstm(z, tf.transpose(Wh), h0, c0);
    const read = targets.rank === 1 ? tf.slice(H, [T - 1, 0, 0], [1, B, n]) : H;
    const R = read.shape[0] * B;
    const a = relu ? tf.relu(read) : read;
    const y = tf.add(tf.matMul(a.reshape([R, n]), V), c);
    const picked = tf.sum(tf.mul(y, tf.oneHot(targets.reshape([R]), CLASSES)), 1);
    return tf.mean(tf.sub(tf.logSumExp(y, 1), picked)) as tf.Scalar;
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
      const lf = fused(...params);
      const lr = ref(...params);
      assert.ok(Math.abs(lf.dataSync()[0] - lr.dataSync()[0]) < 1e-5 * Math.abs(lr.dataSync()[0]), `${label}: loss ${lf.dataSync()[0]} vs ${lr.dataSync()[0]}`);
      const got = tf.grads(fused)(params);
      const want = tf.grads(ref)(params);
      ['dWx', 'db', 'dWh', ...(h0 ? ['dh0'] : []), ...(c0 ? ['dc0'] : []), 'dV', 'dc'].forEach((name, i) => {
        assert.deepEqual(got[i].shape, params[i].shape, `${label}: ${name} shape`);
        const err = relativeError(got[i], want[i]);
        assert.ok(err < 1e-4, `${label}: ${name} relative error ${err.toExponential(3)}`);
      });
      tf.dispose([x, targets, ...params, lf, lr, ...got, ...want]);
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
    const { T, B: bb, n, k, classes } = sp;
    const x = sp.indexInputs ? Int32Array.from({ length: T * bb }, (_, r) => (r * 5) % k) : new Float32Array(T * bb * k);
    if (!sp.indexInputs) for (let r = 0; r < T * bb; r++) x[r * k + (r % k)] = 1;
    return {
      x, Wx: rng.normalArray(k * 4 * n, 0.5), b: rng.normalArray(4 * n, 0.1), Wh: rng.normalArray(n * 4 * n, 1 / Math.sqrt(n)), h0: rng.normalArray(bb * n, 0.3), c0: rng.normalArray(bb * n, 0.3),
      V: rng.normalArray(n * classes, 0.3), c: rng.normalArray(classes, 0.1), targets: Int32Array.from({ length: sp.lastOnly ? bb : T * bb }, (_, r) => (r * 7) % classes),
    };
  }

  for (const sp of [spec, { ...spec, lastOnly: true, indexInputs: true, relu: true, checkpointEvery: 7, n: 33 }]) {
    const what = `${sp.indexInputs ? 'index' : 'float'} inputs, ${sp.lastOnly ? 'last-step' : 'every-step'} readout, n=${sp.n}, checkpoints every ${sp.checkpointEvery} (T=${sp.T})`;
    it(`${what}: native and JS agree; native numbers are bit-identical with 1, 2 and 3 threads`, (t) => {
      if (!availableImplementations().includes('native')) return t.skip('native kernels unavailable');
      const inp = data('agree', sp);
      const js = lstmLossForward(sp, inp, { implementation: 'js' });
      const gjs = lstmLossBackward(sp, inp, js.checkpoints, 1, { implementation: 'js' });
      let first: ReturnType<typeof lstmLossBackward> | null = null;
      let firstLoss = 0;
      for (const threads of [1, 2, 3]) {
        setKernelThreads(threads);
        const nat = lstmLossForward(sp, inp, { implementation: 'native' });
        const g = lstmLossBackward(sp, inp, nat.checkpoints, 1, { implementation: 'native' });
        assert.ok(Math.abs(nat.loss - js.loss) < 1e-5 * js.loss, `loss ${nat.loss} vs ${js.loss}`);
        for (const k of ['dWx', 'db', 'dWh', 'dh0', 'dc0', 'dV', 'dc'] as const) assert.ok(relativeError(g[k]!, gjs[k]!) < 1e-4, `${k}: ${relativeError(g[k]!, gjs[k]!)}`);
        if (!first) {
          first = g;
          firstLoss = nat.loss;
        } else {
          assert.equal(nat.loss, firstLoss, `loss with ${threads} threads`);
          for (const k of ['dWx', 'db', 'dWh', 'dh0', 'dc0', 'dV', 'dc'] as const) assert.deepEqual(g[k], first[k], `${k} with ${threads} threads`);
        }
      }
    });
  }

  it('checks its buffers', () => {
    const inp = data('check', spec);
    assert.throws(() => lstmLossForward(spec, { ...inp, targets: new Int32Array(3) }), /lstmLossForward: targets has 3 values, expected 1850/);
    assert.throws(() => lstmLossForward(spec, { ...inp, Wh: new Float32Array(5) }), /lstmLossForward: Wh has 5 values, expected 1600/);
    assert.throws(() => lstmLossBackward(spec, inp, new Float32Array(3)), /lstmLossBackward: checkpoints has 3 values, expected 8880/);
  });
});
