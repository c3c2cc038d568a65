/**
 * Test fixtures for the kernels (kept out of the main barrel): straightforward per-step tfjs
 * references of the fused scans, differentiated by tfjs autodiff, and random inputs.
 */
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, createRng } from '@orthoquant/runtime';
import { relativeError, testBackend } from '@orthoquant/runtime/testing';
import { availableImplementations, setKernelImplementation, setKernelThreads, type KernelImplementation } from './implementation.js';
import { hadamard, hadamardConstruction, sylvester as sylvesterSigns } from '@orthoquant/orthogonal';
import type { Activation } from './scan-spec.js';

/** Sylvester Hadamard matrix H_m (m a power of two), unnormalised, as floats (orthogonal's `sylvester`). */
export function sylvester(m: number): Float32Array {
  return Float32Array.from(sylvesterSigns(m));
}

/** Paley I Hadamard matrix of order q + 1 (q prime ≡ 3 mod 4): not symmetric, as the kernels must handle (orthogonal's construction). */
export function paley1(q: number): Int8Array {
  const c = hadamardConstruction(q + 1);
  if (c?.kind !== 'paley1') throw new Error(`paley1: order ${q + 1} is not a Paley I order`);
  return hadamard(q + 1);
}

/** I_{n/m} ⊗ H_m / √m as a dense [n, n] tensor. */
export function blockHadamardMatrix(n: number, m: number): tf.Tensor2D {
  const hm = sylvester(m);
  const out = new Float32Array(n * n);
  const c = 1 / Math.sqrt(m);
  for (let blk = 0; blk < n; blk += m) {
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) out[(blk + i) * n + blk + j] = hm[i * m + j] * c;
  }
  return tf.tensor2d(out, [n, n]);
}

/** σ with plain tf ops; modReLU as sign(x)·relu(|x| + b). */
export function referenceActivation(x: tf.Tensor, activation: Activation, bias?: tf.Tensor): tf.Tensor {
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'modrelu':
      return tf.mul(tf.sign(x), tf.relu(tf.add(tf.abs(x), bias!)));
  }
}

/** One tfjs op per step: H[t] = σ(h_{t−1}·Rᵀ + Z[t]) with R the [n, n] recurrent matrix. */
export function referenceScan(z: tf.Tensor3D, R: tf.Tensor2D, h0: tf.Tensor2D | null, activation: Activation, bias?: tf.Tensor1D): tf.Tensor3D {
  return tf.tidy(() => {
    const [T, B, n] = z.shape;
    let h: tf.Tensor = h0 ?? tf.zeros([B, n]);
    const steps: tf.Tensor[] = [];
    const zs = tf.unstack(z);
    for (let t = 0; t < T; t++) {
      h = referenceActivation(tf.add(tf.matMul(h, R, false, true), zs[t]), activation, bias);
      steps.push(h);
    }
    return tf.stack(steps) as tf.Tensor3D;
  });
}

/** The Hadamard recurrent matrix diag(s)·(I ⊗ H_m)/√m as a differentiable function of s. */
export function referenceHadamardMatrix(s: tf.Tensor1D, n: number, m: number): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.reshape(s, [n, 1]), blockHadamardMatrix(n, m)) as tf.Tensor2D);
}

/** A float32 tensor of N(0, std²) draws from a seeded stream. */
export function randomTensor(shape: number[], seed: number | string, std = 1): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(createRng(seed).normalArray(size, std), shape, 'float32');
}

/** One tfjs op per step LSTM (gate order i, f, g, o): the reference for `lstmScan`. */
export function referenceLstm(gates: tf.Tensor3D, Whh: tf.Tensor2D, h0?: tf.Tensor2D | null, c0?: tf.Tensor2D | null): tf.Tensor3D {
  return tf.tidy(() => {
    const [T, B, n4] = gates.shape;
    const n = n4 / 4;
    let h: tf.Tensor = h0 ?? tf.zeros([B, n]);
    let c: tf.Tensor = c0 ?? tf.zeros([B, n]);
    const steps: tf.Tensor[] = [];
    const gs = tf.unstack(gates);
    for (let t = 0; t < T; t++) {
      const a = tf.add(gs[t], tf.matMul(h, Whh, false, true));
      const [ai, af, ag, ao] = tf.split(a, 4, 1);
      c = tf.add(tf.mul(tf.sigmoid(af), c), tf.mul(tf.sigmoid(ai), tf.tanh(ag)));
      h = tf.mul(tf.sigmoid(ao), tf.tanh(c));
      steps.push(h);
    }
    return tf.stack(steps) as tf.Tensor3D;
  });
}

/** A random orthogonal [n, n] matrix (Gram–Schmidt in float64 on N(0, 1) draws), row-major. */
export function randomOrthogonal(n: number, seed: number | string): Float32Array {
  const a = Float64Array.from(createRng(seed).normalArray(n * n));
  for (let i = 0; i < n; i++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        let dot = 0;
        for (let k = 0; k < n; k++) dot += a[i * n + k] * a[j * n + k];
        for (let k = 0; k < n; k++) a[i * n + k] -= dot * a[j * n + k];
      }
    }
    let norm = 0;
    for (let k = 0; k < n; k++) norm += a[i * n + k] ** 2;
    norm = Math.sqrt(norm);
    for (let k = 0; k < n; k++) a[i * n + k] /= norm;
  }
  return Float32Array.from(a);
}

/** n random signs ±1 from a seeded stream. */
export function randomSigns(n: number, seed: number | string): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => (rng.uniform() < 0.5 ? -1 : 1));
}

/** The backends every kernel test runs on. */
export const KERNEL_TEST_BACKENDS = ['wasm', 'cpu'] as const;

/**
 * One `describe` per backend × kernel implementation available here (native where the addon
 * loaded, and JS), named `TITLE [IMPL kernels, BACKEND backend]`, with that backend and
 * implementation set before its tests and the defaults restored after them.
 */
export function describeEveryKernel(title: string, body: (backend: (typeof KERNEL_TEST_BACKENDS)[number], implementation: KernelImplementation) => void): void {
  for (const backend of KERNEL_TEST_BACKENDS) {
    for (const implementation of availableImplementations()) {
      describe(`${title} [${implementation} kernels, ${backend} backend]`, () => {
        before(async () => {
          await testBackend(backend);
          setKernelImplementation(implementation);
        });
        after(async () => {
          setKernelImplementation('auto');
          await testBackend();
        });
        body(backend, implementation);
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The fused losses' tests (fused-step.test.ts, lstm-loss.test.ts): their inputs, the readout of
// the composed tfjs reference, and the two comparisons each runs.

/** Float inputs [T, B, k]: most rows one-hot, every fourth dense, so that the zero skipping is exercised. */
export function lossInputs(T: number, B: number, k: number, seed: string): tf.Tensor3D {
  const rng = createRng(seed);
  const x = new Float32Array(T * B * k);
  for (let r = 0; r < T * B; r++) {
    if (r % 4 === 3) for (let j = 0; j < k; j++) x[r * k + j] = rng.normal();
    else x[r * k + Math.floor(rng.uniform() * k)] = 1;
  }
  return tf.tensor3d(x, [T, B, k]);
}

/** Index inputs int32 [T, B] in [0, k): one-hot rows given as their hot index. */
export function lossIndices(T: number, B: number, k: number, seed: string): tf.Tensor2D {
  const rng = createRng(seed);
  return tf.tensor2d(Int32Array.from({ length: T * B }, () => Math.floor(rng.uniform() * k)), [T, B], 'int32');
}

/** Targets int32 [T, B], or [B] for a readout on the last step only. */
export function lossTargets(T: number, B: number, classes: number, seed: string, lastOnly: boolean): tf.Tensor2D | tf.Tensor1D {
  const rng = createRng(seed);
  const data = Int32Array.from({ length: lastOnly ? B : T * B }, () => Math.floor(rng.uniform() * classes));
  return lastOnly ? tf.tensor1d(data, 'int32') : tf.tensor2d(data, [T, B], 'int32');
}

/** x as float rows [T·B, k] for the reference (index inputs as one-hot rows). */
export function referenceInputRows(x: tf.Tensor3D | tf.Tensor2D, k: number): tf.Tensor2D {
  const [T, B] = x.shape;
  return (x.rank === 2 ? tf.oneHot(x.reshape([T * B]) as tf.Tensor1D, k).toFloat() : x.reshape([T * B, k])) as tf.Tensor2D;
}

/** The reference loss of the states H [T, B, n]: the mean softmax cross-entropy of f(h) V + c over every step (targets [T, B]) or the last one (targets [B]). */
export function referenceReadoutLoss(H: tf.Tensor3D, V: tf.Tensor2D, c: tf.Tensor1D, targets: tf.Tensor2D | tf.Tensor1D, relu: boolean): tf.Scalar {
  return tf.tidy(() => {
    const [T, B, n] = H.shape;
    const classes = V.shape[1];
    const read = targets.rank === 1 ? tf.slice(H, [T - 1, 0, 0], [1, B, n]) : H;
    const R = read.shape[0] * B;
    const a = relu ? tf.relu(read) : read;
    const y = tf.add(tf.matMul(a.reshape([R, n]), V), c);
    const picked = tf.sum(tf.mul(y, tf.oneHot(targets.reshape([R]), classes)), 1);
    return tf.mean(tf.sub(tf.logSumExp(y, 1), picked)) as tf.Scalar;
  });
}

/**
 * A fused loss's value and its gradient w.r.t. every one of `params` (named `names`) match the
 * reference's, differentiated by tfjs (relative error 1e-5 for the loss, 1e-4 per gradient).
 */
export function expectLossAndGradients(label: string, fused: (...ps: tf.Tensor[]) => tf.Scalar, ref: (...ps: tf.Tensor[]) => tf.Scalar, params: tf.Tensor[], names: string[]): void {
  const lf = fused(...params);
  const lr = ref(...params);
  const got = tf.grads(fused)(params);
  const want = tf.grads(ref)(params);
  try {
    assert.ok(Math.abs(lf.dataSync()[0] - lr.dataSync()[0]) < 1e-5 * Math.abs(lr.dataSync()[0]), `${label}: loss ${lf.dataSync()[0]} vs ${lr.dataSync()[0]}`);
    names.forEach((name, i) => {
      assert.deepEqual(got[i].shape, params[i].shape, `${label}: ${name} shape`);
      const err = relativeError(got[i], want[i]);
      assert.ok(err < 1e-4, `${label}: ${name} relative error ${err.toExponential(3)}`);
    });
  } finally {
    tf.dispose([lf, lr, ...got, ...want]);
  }
}

/** x and targets of a typed-array loss test: one-hot rows (or their indices) and targets, by formula. */
export function typedLossInputs(sp: { T: number; B: number; k: number; classes: number; indexInputs: boolean; lastOnly: boolean }): { x: Float32Array | Int32Array; targets: Int32Array } {
  const { T, B, k, classes } = sp;
  const x = sp.indexInputs ? Int32Array.from({ length: T * B }, (_, r) => (r * 5) % k) : new Float32Array(T * B * k);
  if (!sp.indexInputs) for (let r = 0; r < T * B; r++) x[r * k + (r % k)] = 1;
  return { x, targets: Int32Array.from({ length: sp.lastOnly ? B : T * B }, (_, r) => (r * 7) % classes) };
}

/**
 * The native implementation of a fused loss agrees with the JS one (loss to 1e-5, gradients to
 * 1e-4 relative error), and gives the same bits with 1, 2 and 3 threads. `run` computes the
 * loss and the gradients (by name; null: absent) with the implementation given.
 */
export function expectNativeAgreesWithJs(run: (implementation: KernelImplementation) => { loss: number; grads: Record<string, Float32Array | null> }): void {
  const js = run('js');
  let first: ReturnType<typeof run> | null = null;
  for (const threads of [1, 2, 3]) {
    setKernelThreads(threads);
    const nat = run('native');
    assert.ok(Math.abs(nat.loss - js.loss) < 1e-5 * js.loss, `loss ${nat.loss} vs ${js.loss}`);
    for (const [k, g] of Object.entries(nat.grads)) assert.ok(relativeError(g!, js.grads[k]!) < 1e-4, `${k}: ${relativeError(g!, js.grads[k]!)}`);
    if (!first) first = nat;
    else {
      assert.equal(nat.loss, first.loss, `loss with ${threads} threads`);
      for (const [k, g] of Object.entries(nat.grads)) assert.deepEqual(g, first.grads[k], `${k} with ${threads} threads`);
    }
  }
}
