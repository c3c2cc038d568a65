import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, createRng } from '@orthoquant/runtime';
import { testBackend, expectArraysClose, relativeError, expectNoLeaks } from '@orthoquant/runtime/testing';
import {
  denseScan, hadamardScan, kernelInfo, setKernelImplementation, setKernelThreads, availableImplementations, scanForward, scanBackward, fwhtBlocks, ACTIVATIONS,
} from './index.js';
import type { Activation, KernelImplementation, ScanSpec } from './index.js';
import { referenceScan, referenceHadamardMatrix, randomTensor, sylvester, describeEveryKernel } from './testing.js';

const T = 7;
const B = 3;

interface Variant {
  name: string;
  kind: 'dense' | 'hadamard';
  n: number;
  blockSize?: number;
}
const VARIANTS: Variant[] = [
  { name: 'dense', kind: 'dense', n: 8 },
  { name: 'hadamard', kind: 'hadamard', n: 8 },
  { name: 'block-hadamard m=4', kind: 'hadamard', n: 16, blockSize: 4 },
];

/** Inputs of one case: the recurrent parameter is W [n, n] (dense) or real s [n] (hadamard). */
function caseInputs(v: Variant, activation: Activation, withH0: boolean, seed: string) {
  const { n } = v;
  const z = randomTensor([T, B, n], `${seed}/z`) as tf.Tensor3D;
  const w = v.kind === 'dense' ? (randomTensor([n, n], `${seed}/W`, 1 / Math.sqrt(n)) as tf.Tensor2D) : (randomTensor([n], `${seed}/s`) as tf.Tensor1D);
  const h0 = withH0 ? (randomTensor([B, n], `${seed}/h0`) as tf.Tensor2D) : null;
  const bias = activation === 'modrelu' ? (randomTensor([n], `${seed}/b`, 0.5) as tf.Tensor1D) : undefined;
  // A generic cotangent: L = Σ C ⊙ H.
  const C = randomTensor([T, B, n], `${seed}/C`);
  return { z, w, h0, bias, C };
}

function fused(v: Variant, activation: Activation, z: tf.Tensor3D, w: tf.Tensor, h0: tf.Tensor2D | null, bias?: tf.Tensor1D): tf.Tensor3D {
  return v.kind === 'dense'
    ? denseScan(z, w as tf.Tensor2D, h0, { activation, modreluBias: bias })
    : hadamardScan(z, w as tf.Tensor1D, h0, { activation, modreluBias: bias, blockSize: v.blockSize });
}

function reference(v: Variant, activation: Activation, z: tf.Tensor3D, w: tf.Tensor, h0: tf.Tensor2D | null, bias?: tf.Tensor1D): tf.Tensor3D {
  return tf.tidy(() => {
    const R = v.kind === 'dense' ? (w as tf.Tensor2D) : referenceHadamardMatrix(w as tf.Tensor1D, v.n, v.blockSize ?? v.n);
    return referenceScan(z, R, h0, activation, bias);
  });
}

// Every spec on every implementation × tfjs backend: wasm reads and writes the wasm heap in
// place, cpu shares the backend's arrays (see fused-op.ts).
describeEveryKernel('fused scans', (backend, implName) => {

  it('reports the implementation in use', () => {
    const info = kernelInfo();
    assert.equal(info.implementation, implName);
    assert.ok(info.threads >= 1);
    if (implName === 'native') assert.notEqual(info.simd, 'none');
  });

  for (const v of VARIANTS) {
    for (const activation of ACTIVATIONS) {
      for (const withH0 of [false, true]) {
        const label = `${v.name}, ${activation}, ${withH0 ? 'with h0' : 'h0 = 0'}`;
        it(`${label}: forward and every gradient match the per-step tfjs reference`, () => {
          const { z, w, h0, bias, C } = caseInputs(v, activation, withH0, label);
          const inputs = [z, w, ...(h0 ? [h0] : []), ...(bias ? [bias] : [])];
          const unpack = (xs: tf.Tensor[]) => [xs[0] as tf.Tensor3D, xs[1], h0 ? (xs[2] as tf.Tensor2D) : null, bias ? (xs[h0 ? 3 : 2] as tf.Tensor1D) : undefined] as const;
          const lossOf = (scan: typeof fused) => (...xs: tf.Tensor[]) => {
            const [zz, ww, hh, bb] = unpack(xs);
            return tf.sum(tf.mul(scan(v, activation, zz, ww, hh, bb), C)) as tf.Scalar;
          };
          const H = fused(v, activation, z, w, h0, bias);
          const Href = reference(v, activation, z, w, h0, bias);
          assert.deepEqual(H.shape, [T, B, v.n]);
          expectArraysClose(H, Href, 1e-5, 1e-5, `${label}: H`);
          const got = tf.grads(lossOf(fused))(inputs);
          const want = tf.grads(lossOf(reference))(inputs);
          const names = ['dz', v.kind === 'dense' ? 'dW' : 'ds', ...(h0 ? ['dh0'] : []), ...(bias ? ['dbias'] : [])];
          names.forEach((name, i) => {
            assert.deepEqual(got[i].shape, inputs[i].shape, `${label}: ${name} shape`);
            const err = relativeError(got[i], want[i]);
            assert.ok(err < 1e-4, `${label}: ${name} relative error ${err.toExponential(3)}`);
          });
          tf.dispose([...inputs, C, H, Href, ...got, ...want]);
        });
      }
    }
  }

  it('hadamard with s = ±1 equals the dense scan with W = diag(s)·H/√n', () => {
    const n = 32;
    const rng = createRng('pm1');
    const s = tf.tensor1d(Array.from({ length: n }, () => (rng.uniform() < 0.5 ? -1 : 1)));
    const z = randomTensor([5, 4, n], 'pm1/z') as tf.Tensor3D;
    const W = referenceHadamardMatrix(s, n, n);
    const a = hadamardScan(z, s, null, { activation: 'tanh' });
    const b = denseScan(z, W, null, { activation: 'tanh' });
    expectArraysClose(a, b, 1e-5, 1e-5, 'H');
    tf.dispose([s, z, W, a, b]);
  });

  it('forward + backward leak no tensors', async () => {
    const z = randomTensor([T, B, 16], 'leak/z') as tf.Tensor3D;
    const s = randomTensor([16], 'leak/s') as tf.Tensor1D;
    const W = randomTensor([16, 16], 'leak/W', 0.25) as tf.Tensor2D;
    const h0 = randomTensor([B, 16], 'leak/h0') as tf.Tensor2D;
    const bias = randomTensor([16], 'leak/b') as tf.Tensor1D;
    await expectNoLeaks(() => {
      const out = tf.tidy(() => hadamardScan(z, s, h0, { blockSize: 8, activation: 'modrelu', modreluBias: bias }));
      out.dispose();
      const g1 = tf.grads((zz: tf.Tensor, ss: tf.Tensor, hh: tf.Tensor, bb: tf.Tensor) =>
        hadamardScan(zz as tf.Tensor3D, ss as tf.Tensor1D, hh as tf.Tensor2D, { blockSize: 8, activation: 'modrelu', modreluBias: bb as tf.Tensor1D }).square().sum())([z, s, h0, bias]);
      const g2 = tf.grads((zz: tf.Tensor, ww: tf.Tensor) => denseScan(zz as tf.Tensor3D, ww as tf.Tensor2D, null, { activation: 'relu' }).sum())([z, W]);
      tf.dispose([...g1, ...g2]);
    }, 'fused scans');
    tf.dispose([z, s, W, h0, bias]);
  });

  it('large shapes (10 MB tensors) agree with the typed-array layer', () => {
    const spec: ScanSpec = { kind: 'hadamard', activation: 'relu', T: 200, B: 64, n: 128, blockSize: 32 };
    const size = spec.T * spec.B * spec.n;
    const rng = createRng('large');
    // s = ±1: the recurrence is orthogonal, so values stay O(1) over the 200 steps.
    const inp = { z: rng.normalArray(size), w: Float32Array.from({ length: spec.n }, () => (rng.uniform() < 0.5 ? -1 : 1)), h0: rng.normalArray(spec.B * spec.n), bias: null };
    const dH = rng.normalArray(size);
    const H = scanForward(spec, inp, { implementation: 'js' });
    const g = scanBackward(spec, inp, H, dH, { implementation: 'js' });
    const z = tf.tensor3d(inp.z, [spec.T, spec.B, spec.n]);
    const s = tf.tensor1d(inp.w);
    const h0 = tf.tensor2d(inp.h0, [spec.B, spec.n]);
    const dy = tf.tensor3d(dH, [spec.T, spec.B, spec.n]);
    const f = (zz: tf.Tensor, ss: tf.Tensor, hh: tf.Tensor) => hadamardScan(zz as tf.Tensor3D, ss as tf.Tensor1D, hh as tf.Tensor2D, { activation: 'relu', blockSize: 32 });
    const out = f(z, s, h0);
    expectArraysClose(out, H, 1e-5, 1e-5, 'H');
    const [dz, ds, dh0] = tf.grads(f)([z, s, h0], dy);
    assert.ok(relativeError(dz, g.dz) < 1e-5, 'dz');
    assert.ok(relativeError(ds, g.dw) < 1e-4, `ds ${relativeError(ds, g.dw)}`);
    assert.ok(relativeError(dh0, g.dh0!) < 1e-5, 'dh0');
    tf.dispose([z, s, h0, dy, out, dz, ds, dh0]);
  });

  it('rejects bad shapes and options with messages that name them', () => {
    const z = tf.zeros([2, 3, 12]) as tf.Tensor3D;
    const s = tf.ones([12]) as tf.Tensor1D;
    assert.throws(() => hadamardScan(z, s), /hadamardScan: blockSize must be a power of two, got 12/);
    assert.throws(() => hadamardScan(z, s, null, { blockSize: 8 }), /blockSize 8 must divide the hidden size n = 12/);
    assert.throws(() => denseScan(z, tf.zeros([12, 10]) as tf.Tensor2D), /denseScan: W must be \[12, 12\] to match z \[2, 3, 12\], got \[12, 10\]/);
    assert.throws(() => denseScan(z, tf.zeros([12, 12]) as tf.Tensor2D, tf.zeros([2, 12]) as tf.Tensor2D), /denseScan: h0 must be \[3, 12\], got \[2, 12\]/);
    assert.throws(() => hadamardScan(z, s, null, { blockSize: 4, activation: 'modrelu' }), /needs modreluBias of shape \[12\], got none/);
    assert.throws(() => denseScan(tf.zeros([3, 12]) as unknown as tf.Tensor3D, tf.zeros([12, 12]) as tf.Tensor2D), /denseScan: z must be a rank-3 tensor \[T, B, n\], got rank 2/);
    assert.throws(
      () => denseScan(z, tf.zeros([12, 12]) as tf.Tensor2D, null, { activation: 'sigmoid' as Activation }),
      /activation must be one of linear\|relu\|tanh\|modrelu, got 'sigmoid'/,
    );
    tf.disposeVariables();
  });
});

describe('typed-array layer and implementations', () => {
  before(() => testBackend());

  it('fwhtBlocks multiplies each block by the Sylvester matrix', () => {
    const m = 8;
    const x = createRng('fwht').normalArray(2 * m);
    const y = Float32Array.from(x);
    fwhtBlocks(y, 0, 2 * m, m);
    const H = sylvester(m);
    for (let blk = 0; blk < 2; blk++) {
      for (let i = 0; i < m; i++) {
        let acc = 0;
        for (let j = 0; j < m; j++) acc += H[i * m + j] * x[blk * m + j];
        assert.ok(Math.abs(y[blk * m + i] - acc) < 1e-5, `block ${blk} row ${i}: ${y[blk * m + i]} vs ${acc}`);
      }
    }
  });

  it('native kernels are built (required when CI=true)', (t) => {
    const has = availableImplementations().includes('native');
    if (process.env.CI === 'true') {
      assert.ok(has, `CI=true but the native kernels are unavailable: ${kernelInfo().reason}`);
    } else if (!has) {
      t.skip(`native kernels unavailable: ${kernelInfo().reason}`);
    }
  });

  const cases: { spec: ScanSpec; h0: boolean }[] = [
    { spec: { kind: 'dense', activation: 'relu', T: 40, B: 7, n: 20, blockSize: 20 }, h0: true },
    { spec: { kind: 'dense', activation: 'tanh', T: 30, B: 13, n: 64, blockSize: 64 }, h0: false },
    { spec: { kind: 'dense', activation: 'modrelu', T: 20, B: 5, n: 33, blockSize: 33 }, h0: true },
    { spec: { kind: 'hadamard', activation: 'linear', T: 60, B: 9, n: 64, blockSize: 64 }, h0: true },
    { spec: { kind: 'hadamard', activation: 'modrelu', T: 40, B: 6, n: 128, blockSize: 32 }, h0: false },
    { spec: { kind: 'hadamard', activation: 'relu', T: 30, B: 5, n: 16, blockSize: 2 }, h0: true },
    { spec: { kind: 'hadamard', activation: 'tanh', T: 30, B: 3, n: 4, blockSize: 4 }, h0: true },
    // Enough work for the native code to split the batch between threads (3 set below).
    { spec: { kind: 'dense', activation: 'modrelu', T: 50, B: 13, n: 72, blockSize: 72 }, h0: true },
    { spec: { kind: 'hadamard', activation: 'tanh', T: 300, B: 13, n: 128, blockSize: 16 }, h0: true },
  ];
  for (const { spec, h0 } of cases) {
    const label = `${spec.kind} m=${spec.blockSize} ${spec.activation} T=${spec.T} B=${spec.B} n=${spec.n}${h0 ? ' h0' : ''}`;
    it(`native and JS agree: ${label}`, (t) => {
      if (!availableImplementations().includes('native')) return t.skip('native kernels unavailable');
      const { T: tt, B: bb, n } = spec;
      const rng = createRng(label);
      const inp = {
        z: rng.normalArray(tt * bb * n),
        w: spec.kind === 'dense' ? rng.normalArray(n * n, 1 / Math.sqrt(n)) : rng.normalArray(n),
        h0: h0 ? rng.normalArray(bb * n) : null,
        bias: spec.activation === 'modrelu' ? rng.normalArray(n, 0.3) : null,
      };
      const dH = rng.normalArray(tt * bb * n);
      const result = (impl: KernelImplementation) => {
        const H = scanForward(spec, inp, { implementation: impl });
        return { H, g: scanBackward(spec, inp, H, dH, { implementation: impl }) };
      };
      setKernelThreads(3);
      const a = result('native');
      setKernelThreads(null);
      const b = result('js');
      assert.ok(relativeError(a.H, b.H) < 1e-5, `H: ${relativeError(a.H, b.H)}`);
      for (const k of ['dz', 'dw', 'dh0', 'dbias'] as const) {
        const x = a.g[k];
        const y = b.g[k];
        assert.equal(x === null, y === null, k);
        if (x && y) assert.ok(relativeError(x, y) < 1e-4, `${k}: relative error ${relativeError(x, y)}`);
      }
    });
  }

  it('native tanh (vectorised polynomial) matches Math.tanh to ~1e-7 from 1e-8 to 40', (t) => {
    if (!availableImplementations().includes('native')) return t.skip('native kernels unavailable');
    const n = 1003; // not a multiple of 8: the tail lanes too
    const z = new Float32Array(n);
    for (let i = 0; i < n; i++) z[i] = (i % 2 ? -1 : 1) * 1e-8 * Math.pow(4e9, i / (n - 1));
    const spec: ScanSpec = { kind: 'dense', activation: 'tanh', T: 1, B: 1, n, blockSize: n };
    const H = scanForward(spec, { z, w: new Float32Array(n * n), h0: null, bias: null }, { implementation: 'native' });
    for (let i = 0; i < n; i++) {
      const want = Math.tanh(z[i]);
      assert.ok(Math.abs(H[i] - want) <= 2e-7 * Math.max(Math.abs(want), 1e-30) + 1e-30, `tanh(${z[i]}) = ${H[i]}, expected ${want}`);
    }
  });

  it('implementation and thread settings reject bad values with clear messages', () => {
    assert.throws(() => setKernelImplementation('gpu' as KernelImplementation), /setKernelImplementation: expected one of auto\|native\|js, got 'gpu'/);
    assert.throws(() => setKernelThreads(0), /setKernelThreads: expected a positive integer or null, got 0/);
    const saved = process.env.ORTHOQUANT_THREADS;
    process.env.ORTHOQUANT_THREADS = 'many';
    try {
      if (availableImplementations().includes('native')) {
        setKernelImplementation('native');
        assert.throws(() => kernelInfo(), /ORTHOQUANT_THREADS: expected a positive integer, got 'many'/);
      }
    } finally {
      if (saved === undefined) delete process.env.ORTHOQUANT_THREADS;
      else process.env.ORTHOQUANT_THREADS = saved;
      setKernelImplementation('auto');
    }
  });

  it('scanForward and scanBackward check buffer lengths', () => {
    const spec: ScanSpec = { kind: 'dense', activation: 'linear', T: 2, B: 2, n: 3, blockSize: 3 };
    const w = new Float32Array(9);
    assert.throws(() => scanForward(spec, { z: new Float32Array(10), w, h0: null, bias: null }), /scanForward: z has 10 values, expected 12/);
    assert.throws(() => scanForward(spec, { z: new Float32Array(12), w: new Float32Array(3), h0: null, bias: null }), /scanForward: W has 3 values, expected 9/);
    const inp = { z: new Float32Array(12), w, h0: null, bias: null };
    assert.throws(() => scanBackward(spec, inp, new Float32Array(12), new Float32Array(11)), /scanBackward: dH has 11 values, expected 12/);
    assert.throws(() => scanForward({ ...spec, kind: 'hadamard', blockSize: 3 }, { ...inp, w: new Float32Array(3) }), /scanForward: blockSize must be a power of two, got 3/);
  });
});
