import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, createRng } from '@orthoquant/runtime';
import { testBackend, expectArraysClose, relativeError, expectNoLeaks } from '@orthoquant/runtime/testing';
import { denseScan, hadamardScan, setKernelThreads, availableImplementations, scanForward, scanBackward, scanBackwardReversible } from './index.js';
import type { KernelImplementation, ScanSpec } from './index.js';
import { jsReversible } from './scan-reversible.js';
import { loadNative } from './native.js';
import { paley1, randomOrthogonal, randomSigns, randomTensor, referenceHadamardMatrix, referenceScan, describeEveryKernel } from './testing.js';

const T = 9;
const B = 3;

interface Variant {
  name: string;
  kind: 'dense' | 'hadamard';
  n: number;
  blockSize?: number;
}
const VARIANTS: Variant[] = [
  { name: 'dense (orthogonal W)', kind: 'dense', n: 8 },
  { name: 'hadamard (s = ±1)', kind: 'hadamard', n: 8 },
  { name: 'block-hadamard m=4 (s = ±1)', kind: 'hadamard', n: 16, blockSize: 4 },
];

function scan(v: Variant, z: tf.Tensor3D, w: tf.Tensor, h0: tf.Tensor2D | null, reversible: boolean, anchorEvery = 0): tf.Tensor3D {
  return v.kind === 'dense'
    ? denseScan(z, w as tf.Tensor2D, h0, { reversible, anchorEvery })
    : hadamardScan(z, w as tf.Tensor1D, h0, { blockSize: v.blockSize, reversible: reversible ? true : false, anchorEvery });
}

function reference(v: Variant, z: tf.Tensor3D, w: tf.Tensor, h0: tf.Tensor2D | null): tf.Tensor3D {
  return tf.tidy(() => {
    const R = v.kind === 'dense' ? (w as tf.Tensor2D) : referenceHadamardMatrix(w as tf.Tensor1D, v.n, v.blockSize ?? v.n);
    return referenceScan(z, R, h0, 'linear');
  });
}

describeEveryKernel('reversible scans', () => {

  for (const v of VARIANTS) {
    for (const withH0 of [false, true]) {
      for (const anchorEvery of [0, 4]) {
        const label = `${v.name}, ${withH0 ? 'with h0' : 'h0 = 0'}${anchorEvery ? `, anchors every ${anchorEvery}` : ''}`;
        it(`${label}: forward and every gradient match the per-step tfjs reference`, () => {
          const { n } = v;
          const z = randomTensor([T, B, n], `${label}/z`) as tf.Tensor3D;
          const w = v.kind === 'dense' ? tf.tensor2d(randomOrthogonal(n, `${label}/W`), [n, n]) : tf.tensor1d(randomSigns(n, `${label}/s`));
          const h0 = withH0 ? (randomTensor([B, n], `${label}/h0`) as tf.Tensor2D) : null;
          const C = randomTensor([T, B, n], `${label}/C`);
          const inputs = [z, w, ...(h0 ? [h0] : [])];
          const lossOf = (f: (zz: tf.Tensor3D, ww: tf.Tensor, hh: tf.Tensor2D | null) => tf.Tensor3D) => (...xs: tf.Tensor[]) =>
            tf.sum(tf.mul(f(xs[0] as tf.Tensor3D, xs[1], h0 ? (xs[2] as tf.Tensor2D) : null), C)) as tf.Scalar;
          const H = scan(v, z, w, h0, true, anchorEvery);
          const Href = reference(v, z, w, h0);
          expectArraysClose(H, Href, 1e-5, 1e-5, `${label}: H`);
          const got = tf.grads(lossOf((a, b, c) => scan(v, a, b, c, true, anchorEvery)))(inputs);
          const stored = tf.grads(lossOf((a, b, c) => scan(v, a, b, c, false)))(inputs);
          const want = tf.grads(lossOf((a, b, c) => reference(v, a, b, c)))(inputs);
          ['dz', v.kind === 'dense' ? 'dW' : 'ds', ...(h0 ? ['dh0'] : [])].forEach((name, i) => {
            assert.deepEqual(got[i].shape, inputs[i].shape, `${label}: ${name} shape`);
            const err = relativeError(got[i], want[i]);
            assert.ok(err < 1e-4, `${label}: ${name} relative error ${err.toExponential(3)} vs autodiff`);
            const errStored = relativeError(got[i], stored[i]);
            assert.ok(errStored < 1e-5, `${label}: ${name} relative error ${errStored.toExponential(3)} vs the stored-state path`);
          });
          tf.dispose([...inputs, C, H, Href, ...got, ...stored, ...want]);
        });
      }
    }
  }

  it('forward + backward leak no tensors', async () => {
    const z = randomTensor([T, B, 16], 'leak/z') as tf.Tensor3D;
    const s = tf.tensor1d(randomSigns(16, 'leak/s'));
    const W = tf.tensor2d(randomOrthogonal(16, 'leak/W'), [16, 16]);
    const h0 = randomTensor([B, 16], 'leak/h0') as tf.Tensor2D;
    await expectNoLeaks(() => {
      tf.tidy(() => hadamardScan(z, s, h0, { blockSize: 8 })).dispose();
      const g1 = tf.grads((zz: tf.Tensor, ss: tf.Tensor, hh: tf.Tensor) => hadamardScan(zz as tf.Tensor3D, ss as tf.Tensor1D, hh as tf.Tensor2D, { blockSize: 8, anchorEvery: 3 }).square().sum())([z, s, h0]);
      const g2 = tf.grads((zz: tf.Tensor, ww: tf.Tensor) => denseScan(zz as tf.Tensor3D, ww as tf.Tensor2D, null, { reversible: true }).sum())([z, W]);
      tf.dispose([...g1, ...g2]);
    }, 'reversible scans');
    tf.dispose([z, s, W, h0]);
  });

  it('reversible: true needs a linear recurrence; bad options are named', () => {
    const z = tf.zeros([2, 3, 8]) as tf.Tensor3D;
    const s = tf.ones([8]) as tf.Tensor1D;
    assert.throws(() => hadamardScan(z, s, null, { activation: 'tanh', reversible: true }), /hadamardScan: reversible BPTT needs the linear recurrence, got activation 'tanh'/);
    assert.throws(() => denseScan(z, tf.eye(8) as tf.Tensor2D, null, { reversible: true, anchorEvery: -1 }), /denseScan: anchorEvery must be a non-negative integer, got -1/);
    assert.throws(() => hadamardScan(z, s, null, { reversible: 'yes' as unknown as boolean }), /hadamardScan: reversible must be true, false or 'auto', got yes/);
    tf.disposeVariables();
  });
});

describe('reversible BPTT on typed arrays', () => {
  before(() => testBackend());

  const cases: { spec: ScanSpec; h0: boolean }[] = [
    { spec: { kind: 'hadamard', activation: 'linear', T: 300, B: 13, n: 128, blockSize: 128 }, h0: true },
    { spec: { kind: 'hadamard', activation: 'linear', T: 200, B: 9, n: 64, blockSize: 16 }, h0: false },
    { spec: { kind: 'dense', activation: 'linear', T: 120, B: 13, n: 72, blockSize: 72 }, h0: true },
  ];
  for (const { spec, h0 } of cases) {
    const label = `${spec.kind} m=${spec.blockSize} T=${spec.T} B=${spec.B} n=${spec.n}${h0 ? ' h0' : ''}`;
    for (const impl of availableImplementations()) {
      it(`${impl}: equals the stored-state backward, with and without anchors: ${label}`, () => {
        const { T: tt, B: bb, n } = spec;
        const rng = createRng(label);
        const inp = {
          z: rng.normalArray(tt * bb * n),
          w: spec.kind === 'dense' ? randomOrthogonal(n, `${label}/W`) : randomSigns(n, `${label}/s`),
          h0: h0 ? rng.normalArray(bb * n) : null,
          bias: null,
        };
        const dH = rng.normalArray(tt * bb * n);
        const H = scanForward(spec, inp, { implementation: impl });
        const want = scanBackward(spec, inp, H, dH, { implementation: impl });
        const hLast = H.slice((tt - 1) * bb * n);
        const k = 50;
        const anchors = new Float32Array(Math.floor(tt / k) * bb * n);
        for (let j = 0; j < Math.floor(tt / k); j++) anchors.set(H.subarray(((j + 1) * k - 1) * bb * n, (j + 1) * k * bb * n), j * bb * n);
        for (const opts of [{}, { anchorEvery: k, anchors }]) {
          const got = scanBackwardReversible(spec, inp, hLast, dH, { ...opts, implementation: impl });
          assert.ok(relativeError(got.dz, want.dz) < 1e-5, `dz: ${relativeError(got.dz, want.dz)}`);
          assert.ok(relativeError(got.dw, want.dw) < 1e-5, `dw: ${relativeError(got.dw, want.dw)}`);
          if (h0) assert.ok(relativeError(got.dh0!, want.dh0!) < 1e-5, `dh0: ${relativeError(got.dh0!, want.dh0!)}`);
        }
      });
    }
  }

  it('a sequence processed in two time chunks equals one pass (state and carry handed over)', () => {
    const spec: ScanSpec = { kind: 'hadamard', activation: 'linear', T: 40, B: 5, n: 32, blockSize: 8 };
    const { T: tt, B: bb, n } = spec;
    const rng = createRng('chunks');
    const inp = { z: rng.normalArray(tt * bb * n), w: randomSigns(n, 'chunks/s'), h0: rng.normalArray(bb * n), bias: null };
    const dH = rng.normalArray(tt * bb * n);
    const H = scanForward(spec, inp, { implementation: 'js' });
    const hLast = H.slice((tt - 1) * bb * n);
    const whole = scanBackwardReversible(spec, inp, hLast, dH, { implementation: 'js' });
    const impls = [jsReversible, ...(loadNative().reversible ? [loadNative().reversible!] : [])];
    for (const impl of impls) {
      const split = 25;
      const row = bb * n;
      const h = hLast.slice();
      const carry = new Float32Array(row);
      const dz = new Float32Array(tt * row);
      const dw1 = new Float32Array(n);
      const dw2 = new Float32Array(n);
      const late = { ...spec, T: tt - split };
      impl.backward(late, { z: inp.z.subarray(split * row), w: inp.w, h0: null, atStart: false, h, carry, anchorEvery: 0, anchors: null }, dH.subarray(split * row), dz.subarray(split * row), dw1, 2);
      assert.ok(relativeError(h, H.subarray((split - 1) * row, split * row)) < 1e-5, `${impl.name}: rebuilt h at the chunk boundary`);
      const early = { ...spec, T: split };
      impl.backward(early, { z: inp.z.subarray(0, split * row), w: inp.w, h0: inp.h0, atStart: true, h, carry, anchorEvery: 0, anchors: null }, dH.subarray(0, split * row), dz.subarray(0, split * row), dw2, 2);
      assert.ok(relativeError(dz, whole.dz) < 1e-6, `${impl.name}: dz`);
      assert.ok(relativeError(carry, whole.dh0!) < 1e-6, `${impl.name}: dh0`);
      assert.ok(relativeError(dw1.map((x, i) => x + dw2[i]), whole.dw) < 1e-5, `${impl.name}: ds`);
    }
  });

  it('checks buffers and the activation', () => {
    const spec: ScanSpec = { kind: 'hadamard', activation: 'linear', T: 2, B: 2, n: 4, blockSize: 4 };
    const inp = { z: new Float32Array(16), w: new Float32Array(4).fill(1), h0: null, bias: null };
    assert.throws(() => scanBackwardReversible(spec, inp, new Float32Array(7), new Float32Array(16)), /scanBackwardReversible: h has 7 values, expected 8/);
    assert.throws(() => scanBackwardReversible({ ...spec, activation: 'relu' }, inp, new Float32Array(8), new Float32Array(16)), /reversible BPTT needs a linear recurrence, got activation 'relu'/);
    assert.throws(
      () => scanBackwardReversible(spec, inp, new Float32Array(8), new Float32Array(16), { anchorEvery: 1, anchors: new Float32Array(8) }),
      /scanBackwardReversible: anchors has 8 values, expected 16/,
    );
  });
});

describe('gradients do not depend on the thread count (native)', () => {
  before(() => testBackend());
  after(() => setKernelThreads(null));

  const specs: ScanSpec[] = [
    { kind: 'hadamard', activation: 'modrelu', T: 200, B: 37, n: 64, blockSize: 16 },
    { kind: 'dense', activation: 'tanh', T: 60, B: 29, n: 48, blockSize: 48 },
    { kind: 'hadamard', activation: 'linear', T: 200, B: 37, n: 64, blockSize: 64 },
    // A Kronecker order: blocks of 48 = 12·4 (native/kron.cc's p-stage).
    { kind: 'hadamard', activation: 'linear', T: 200, B: 37, n: 96, blockSize: 48, p: 12, hp: paley1(11) },
  ];
  for (const spec of specs) {
    it(`scanBackward and scanBackwardReversible are bit-identical with 1, 2, 3 and 8 threads: ${spec.kind} ${spec.activation}${spec.p ? ` m=${spec.blockSize} = ${spec.p}·${spec.blockSize / spec.p}` : ''}`, (t) => {
      if (!availableImplementations().includes('native')) return t.skip('native kernels unavailable');
      const { T: tt, B: bb, n } = spec;
      const rng = createRng(`threads/${spec.kind}/${spec.activation}`);
      const inp = {
        z: rng.normalArray(tt * bb * n),
        w: spec.kind === 'dense' ? rng.normalArray(n * n, 1 / Math.sqrt(n)) : randomSigns(n, 'threads/s'),
        h0: rng.normalArray(bb * n),
        bias: spec.activation === 'modrelu' ? rng.normalArray(n, 0.3) : null,
      };
      const dH = rng.normalArray(tt * bb * n);
      const run = (threads: number) => {
        setKernelThreads(threads);
        const H = scanForward(spec, inp, { implementation: 'native' as KernelImplementation });
        const g = scanBackward(spec, inp, H, dH, { implementation: 'native' });
        const r = spec.activation === 'linear' ? scanBackwardReversible(spec, inp, H.slice((tt - 1) * bb * n), dH, { implementation: 'native' }) : null;
        return { H, g, r };
      };
      const one = run(1);
      for (const threads of [2, 3, 8]) {
        const other = run(threads);
        assert.deepEqual(other.H, one.H, `H with ${threads} threads`);
        for (const k of ['dz', 'dw', 'dh0', 'dbias'] as const) assert.deepEqual(other.g[k], one.g[k], `${k} with ${threads} threads`);
        if (one.r) for (const k of ['dz', 'dw', 'dh0'] as const) assert.deepEqual(other.r![k], one.r[k], `reversible ${k} with ${threads} threads`);
      }
    });
  }
});
