import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, createRng, setEnvSetting } from '@orthoquant/runtime';
import { testBackend, expectNoLeaks } from '@orthoquant/runtime/testing';
import { hadamardRnnLoss, denseRnnLoss, fusedStepForward, fusedStepBackward, setKernelThreads, availableImplementations, kernelInfo } from './index.js';
import type { FusedStepSpec } from './index.js';
import {
  referenceScan, referenceHadamardMatrix, randomTensor, randomSigns, paley1, describeEveryKernel, lossInputs, lossIndices, lossTargets, referenceInputRows, referenceReadoutLoss,
  expectLossAndGradients, typedLossInputs, expectNativeAgreesWithJs,
} from './testing.js';

const T = 9;
const B = 3;
const K = 5;
const CLASSES = 4;

const inputs = (seed: string) => lossInputs(T, B, K, seed);
/** Row indices into U [T, B] (index inputs: one-hot rows given as their hot index). */
const indicesOf = (seed: string) => lossIndices(T, B, K, seed);
const targetsOf = (seed: string, lastOnly = false) => lossTargets(T, B, CLASSES, seed, lastOnly);

/**
 * The same loss composed of tfjs ops (per-step scan, one-hot matmul for index inputs, the
 * readout on every step or on h_{T−1}), differentiated by tfjs.
 */
function referenceLoss(
  x: tf.Tensor3D | tf.Tensor2D, U: tf.Tensor2D, b: tf.Tensor1D, s: tf.Tensor1D | null, h0: tf.Tensor2D | null, V: tf.Tensor2D, c: tf.Tensor1D, targets: tf.Tensor2D | tf.Tensor1D, m: number, relu: boolean,
  dense?: { W: tf.Tensor2D; activation: 'linear' | 'relu' | 'tanh' },
): tf.Scalar {
  return tf.tidy(() => {
    const n = U.shape[1];
    const z = tf.add(tf.matMul(referenceInputRows(x, K), U), b).reshape([T, B, n]) as tf.Tensor3D;
    const H = dense ? referenceScan(z, dense.W, h0, dense.activation) : referenceScan(z, referenceHadamardMatrix(s!, n, m), h0, 'linear');
    return referenceReadoutLoss(H, V, c, targets, relu);
  });
}

describeEveryKernel('hadamardRnnLoss', () => {

  // Every combination of block size, readout activation, h0 and anchors with float inputs and an
  // all-steps readout; the last-step readout and index inputs (and both) on one block size each.
  // Index inputs use m = n: with m = 4, a 4-block of sign·H_4/2 squares to the identity, and the
  // few distinct input rows then cancel exactly (h_t = 0 on a whole block), a ReLU kink where
  // f'(h) depends on rounding and no two implementations need agree.
  const variants: { lastOnly: boolean; index: boolean }[] = [
    { lastOnly: false, index: false }, { lastOnly: true, index: false }, { lastOnly: false, index: true }, { lastOnly: true, index: true },
  ];
  for (const { lastOnly, index } of variants) {
    for (const [n, m] of (index ? [[16, 16]] : lastOnly ? [[16, 4]] : [[8, 8], [16, 4]]) as [number, number][]) {
      for (const relu of [false, true]) {
        for (const withH0 of [false, true]) {
          for (const anchorEvery of lastOnly || index ? [4] : [0, 4]) {
            const label = `n=${n} m=${m}, ${index ? 'index' : 'float'} inputs, ${relu ? 'ReLU' : 'linear'} readout ${lastOnly ? 'on the last step' : 'on every step'}, ${withH0 ? 'with h0' : 'h0 = 0'}${anchorEvery ? `, anchors every ${anchorEvery}` : ''}`;
            it(`${label}: loss and every gradient match tfjs autodiff of the composed model`, () => {
              const x = index ? indicesOf(`${label}/i`) : inputs(`${label}/x`);
              const U = randomTensor([K, n], `${label}/U`, 0.5) as tf.Tensor2D;
              const b = randomTensor([n], `${label}/b`, 0.1) as tf.Tensor1D;
              const s = tf.tensor1d(randomSigns(n, `${label}/s`));
              const h0 = withH0 ? (randomTensor([B, n], `${label}/h0`, 0.5) as tf.Tensor2D) : null;
              const V = randomTensor([n, CLASSES], `${label}/V`, 0.5) as tf.Tensor2D;
              const c = randomTensor([CLASSES], `${label}/c`, 0.1) as tf.Tensor1D;
              const targets = targetsOf(`${label}/t`, lastOnly);
              const params = [U, b, s, ...(h0 ? [h0] : []), V, c];
              const unpack = (ps: tf.Tensor[]) => {
                const [uu, bb, ss] = ps;
                const hh = h0 ? (ps[3] as tf.Tensor2D) : null;
                const [vv, cc] = ps.slice(h0 ? 4 : 3);
                return [uu as tf.Tensor2D, bb as tf.Tensor1D, ss as tf.Tensor1D, hh, vv as tf.Tensor2D, cc as tf.Tensor1D] as const;
              };
              const fused = (...ps: tf.Tensor[]) => {
                const [uu, bb, ss, hh, vv, cc] = unpack(ps);
                return hadamardRnnLoss(x, uu, bb, ss, hh, vv, cc, targets, { blockSize: m, readoutRelu: relu, anchorEvery });
              };
              const ref = (...ps: tf.Tensor[]) => {
                const [uu, bb, ss, hh, vv, cc] = unpack(ps);
                return referenceLoss(x, uu, bb, ss, hh, vv, cc, targets, m, relu);
              };
              expectLossAndGradients(label, fused, ref, params, ['dU', 'db', 'ds', ...(h0 ? ['dh0'] : []), 'dV', 'dc']);
              tf.dispose([x, targets, ...params]);
            });
          }
        }
      }
    }
  }

  // The dense recurrence with checkpointed BPTT: every activation × readout × input kind, with
  // segments that do and do not divide T (k = 4, 3) and none (k = 0: the whole sequence per row).
  for (const act of ['linear', 'relu', 'tanh'] as const) {
    for (const [lastOnly, index, withH0, k] of [[false, false, true, 4], [true, true, false, 3], [false, true, false, 0], [true, false, true, 3]] as const) {
      const label = `dense ${act}, ${index ? 'index' : 'float'} inputs, readout ${lastOnly ? 'on the last step' : 'on every step'}, ${withH0 ? 'with h0' : 'h0 = 0'}, checkpoints every ${k}`;
      it(`${label}: loss and every gradient match tfjs autodiff of the composed model`, () => {
        const n = 8;
        const x = index ? indicesOf(`${label}/i`) : inputs(`${label}/x`);
        const U = randomTensor([K, n], `${label}/U`, 0.5) as tf.Tensor2D;
        const b = randomTensor([n], `${label}/b`, 0.1) as tf.Tensor1D;
        const W = randomTensor([n, n], `${label}/W`, 0.4) as tf.Tensor2D;
        const h0 = withH0 ? (randomTensor([B, n], `${label}/h0`, 0.5) as tf.Tensor2D) : null;
        const V = randomTensor([n, CLASSES], `${label}/V`, 0.5) as tf.Tensor2D;
        const c = randomTensor([CLASSES], `${label}/c`, 0.1) as tf.Tensor1D;
        const targets = targetsOf(`${label}/t`, lastOnly);
        const params = [U, b, W, ...(h0 ? [h0] : []), V, c];
        const unpack = (ps: tf.Tensor[]) => {
          const [uu, bb, ww] = ps;
          const hh = h0 ? (ps[3] as tf.Tensor2D) : null;
          const [vv, cc] = ps.slice(h0 ? 4 : 3);
          return [uu as tf.Tensor2D, bb as tf.Tensor1D, ww as tf.Tensor2D, hh, vv as tf.Tensor2D, cc as tf.Tensor1D] as const;
        };
        const fused = (...ps: tf.Tensor[]) => {
          const [uu, bb, ww, hh, vv, cc] = unpack(ps);
          return denseRnnLoss(x, uu, bb, ww, hh, vv, cc, targets, { activation: act, readoutRelu: true, checkpointEvery: k });
        };
        const ref = (...ps: tf.Tensor[]) => {
          const [uu, bb, ww, hh, vv, cc] = unpack(ps);
          return referenceLoss(x, uu, bb, null, hh, vv, cc, targets, 0, true, { W: ww, activation: act });
        };
        expectLossAndGradients(label, fused, ref, params, ['dU', 'db', 'dW', ...(h0 ? ['dh0'] : []), 'dV', 'dc']);
        tf.dispose([x, targets, ...params]);
      });
    }
  }

  it('leaks no tensors; rejects signs that are not ±1 and bad shapes with clear messages', async () => {
    const x = inputs('leak/x');
    const U = randomTensor([K, 8], 'leak/U') as tf.Tensor2D;
    const b = tf.zeros([8]) as tf.Tensor1D;
    const s = tf.tensor1d(randomSigns(8, 'leak/s'));
    const V = randomTensor([8, CLASSES], 'leak/V') as tf.Tensor2D;
    const c = tf.zeros([CLASSES]) as tf.Tensor1D;
    const targets = targetsOf('leak/t');
    await expectNoLeaks(() => {
      const g = tf.grads((uu: tf.Tensor, ss: tf.Tensor, vv: tf.Tensor) => hadamardRnnLoss(x, uu as tf.Tensor2D, b, ss as tf.Tensor1D, null, vv as tf.Tensor2D, c, targets))([U, s, V]);
      tf.dispose(g);
    }, 'hadamardRnnLoss');
    const half = tf.fill([8], 0.5) as tf.Tensor1D;
    assert.throws(() => hadamardRnnLoss(x, U, b, half, null, V, c, targets), /hadamardRnnLoss: every s must be exactly ±1/);
    const idx = indicesOf('leak/i');
    assert.throws(() => hadamardRnnLoss(idx.toFloat() as tf.Tensor2D, U, b, s, null, V, c, targets), /hadamardRnnLoss: x \[9, 3\] must be int32 \(row indices into U\), got float32/);
    assert.throws(() => hadamardRnnLoss(x, U, b, s, null, V, c, tf.zeros([B + 1], 'int32') as tf.Tensor1D), /hadamardRnnLoss: targets must be \[3\], got \[4\]/);
    const far = tf.fill([T, B], K, 'int32') as tf.Tensor2D;
    assert.throws(() => hadamardRnnLoss(far, U, b, s, null, V, c, targets), /input index 5 at row 0 is outside \[0, 5\)/);
    tf.dispose([idx, far]);
    assert.throws(() => hadamardRnnLoss(x, U, b, s, null, V, c, tf.zeros([T, B]) as tf.Tensor2D), /hadamardRnnLoss: targets must be int32, got float32/);
    assert.throws(() => hadamardRnnLoss(x, U, b, s, null, V, tf.zeros([3]) as tf.Tensor1D, targets), /hadamardRnnLoss: c must be \[4\], got \[3\]/);
    tf.dispose([x, U, b, s, V, c, targets, half]);
  });
});

describe('fused step on typed arrays', () => {
  before(() => testBackend());
  after(() => setKernelThreads(null));

  const spec: FusedStepSpec = { T: 120, B: 37, n: 64, blockSize: 16, k: 6, classes: 5, relu: true, anchorEvery: 50, lastOnly: false, indexInputs: false, kind: 'hadamard', activation: 'linear' };
  function data(seed: string, sp: FusedStepSpec = spec) {
    const rng = createRng(seed);
    const { B: bb, n, k, classes } = sp;
    return {
      ...typedLossInputs(sp), U: rng.normalArray(k * n, 0.5), b: rng.normalArray(n, 0.1), s: sp.kind === 'dense' ? rng.normalArray(n * n, 1 / Math.sqrt(n)) : randomSigns(n, `${seed}/s`), h0: rng.normalArray(bb * n, 0.3),
      V: rng.normalArray(n * classes, 0.3), c: rng.normalArray(classes, 0.1),
    };
  }

  const dense: FusedStepSpec = { ...spec, kind: 'dense', activation: 'tanh', anchorEvery: 11 };
  const kron: FusedStepSpec = { ...spec, n: 96, blockSize: 48, p: 12, hp: paley1(11) }; // blocks of 48 = 12·4 (native/kron.cc)
  // n = 40: the dense products' 16-column tiles with a padded last tile; identity readout, one segment.
  const dense40: FusedStepSpec = { ...dense, n: 40, blockSize: 1, activation: 'linear', relu: false, anchorEvery: 0 };
  for (const sp of [spec, { ...spec, lastOnly: true, indexInputs: true }, kron, dense, { ...dense, activation: 'relu', lastOnly: true, indexInputs: true } as FusedStepSpec, dense40]) {
    const what = `${sp.kind}${sp.kind === 'dense' ? ` ${sp.activation}` : ''}, ${sp.lastOnly ? 'index inputs, last-step readout' : 'float inputs, readout on every step'}${sp.p ? ', blocks of 48 = 12·4' : ''}${sp.n !== spec.n && sp.kind === 'dense' ? `, n = ${sp.n}, ${sp.relu ? 'ReLU' : 'identity'} readout, ${sp.anchorEvery ? `checkpoints every ${sp.anchorEvery}` : 'no checkpoints'}` : ''}`;
    it(`${what}: native and JS agree; native gradients are bit-identical with 1, 2 and 3 threads`, (t) => {
      if (!availableImplementations().includes('native')) return t.skip('native kernels unavailable');
      const inp = data('agree', sp);
      expectNativeAgreesWithJs((implementation) => {
        const f = fusedStepForward(sp, inp, { implementation });
        return { loss: f.loss, grads: { ...fusedStepBackward(sp, inp, f.hLast, f.anchors, 1, { implementation }) } };
      });
    });
  }

  it('dense: the AVX-512 products give the same bits as the AVX2 ones (ORTHOQUANT_DENSE_AVX512=0)', (t) => {
    if (!availableImplementations().includes('native') || kernelInfo().denseSimd !== 'avx512f') return t.skip('no AVX-512 dense products here (CPU or build)');
    const run = (sp: FusedStepSpec, inp: ReturnType<typeof data>) => {
      const f = fusedStepForward(sp, inp, { implementation: 'native' });
      return { ...f, ...fusedStepBackward(sp, inp, f.hLast, f.anchors, 1, { implementation: 'native' }) };
    };
    // n = 64: two 32-column strips; n = 40: a 32- and a 16-column strip; 37 rows: 8-row tiles and a rest.
    for (const sp of [dense, dense40, { ...dense, activation: 'relu', lastOnly: true, indexInputs: true } as FusedStepSpec]) {
      const inp = data('avx512', sp);
      setKernelThreads(2);
      const wide = run(sp, inp);
      setEnvSetting('denseAvx512', '0');
      try {
        assert.notEqual(kernelInfo().denseSimd, 'avx512f');
        const narrow = run(sp, inp);
        assert.deepEqual(wide, narrow, `${sp.activation}, n = ${sp.n}`);
      } finally {
        setEnvSetting('denseAvx512', undefined);
      }
    }
  });

  it('checks its buffers', () => {
    const inp = data('check');
    assert.throws(() => fusedStepForward(spec, { ...inp, targets: new Int32Array(3) }), /fusedStepForward: targets has 3 values, expected 4440/);
    assert.throws(() => fusedStepForward(spec, { ...inp, targets: inp.targets.map(() => 9) }), /fusedStepForward: target 9 at row 0 is outside \[0, 5\)/);
    assert.throws(() => fusedStepForward({ ...spec, blockSize: 3 }, inp), /fusedStepForward: blockSize must be a power of two, got 3/);
    const last = { ...spec, lastOnly: true, indexInputs: true };
    const li = data('check', last);
    assert.throws(() => fusedStepForward(last, { ...li, targets: inp.targets }), /fusedStepForward: targets has 4440 values, expected 37/);
    assert.throws(() => fusedStepForward(last, { ...li, x: li.x.map(() => 6) }), /fusedStepForward: input index 6 at row 0 is outside \[0, 6\)/);
    assert.throws(() => fusedStepForward(last, inp), /fusedStepForward: x must be an Int32Array/);
  });
});
