/**
 * Test fixtures for the kernels (kept out of the main barrel): straightforward per-step tfjs
 * references of the fused scans, differentiated by tfjs autodiff, and random inputs.
 */
import { describe, before, after } from 'node:test';
import { tf, createRng } from '@orthoquant/runtime';
import { testBackend } from '@orthoquant/runtime/testing';
import { availableImplementations, setKernelImplementation, type KernelImplementation } from './implementation.js';
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
