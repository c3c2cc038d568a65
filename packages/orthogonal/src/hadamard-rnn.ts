/**
 * HadamRNN and Block-HadamRNN recurrent weights (Foucault et al., ICLR 2025):
 * W = diag(sign u) · H_n/√n and W = diag(sign u) · (I_{n/m} ⊗ H_m/√m), u ∈ ℝⁿ trained.
 * H_m = H_p ⊗ H_{2^k} for m = p·2^k (`kroneckerHadamard`): Sylvester's for powers of two,
 * a Paley / Kronecker order p times a Sylvester factor otherwise.
 */
import { tf, createRng } from '@orthoquant/runtime';
import { signSte } from '@orthoquant/quantizers';
import { blockKroneckerHadamard, hadamard, hadamardFactors, isPowerOfTwo, kroneckerHadamard } from './hadamard.js';
import { fwht } from './fwht.js';
import { checkOrder, newVariable } from './init.js';
import type { HadamardOperator, OrthogonalParameterization } from './types.js';

export interface HadamRnnOptions {
  /** Initial u: seeded U[−1, 1) (default), or given values. */
  init?: Float32Array;
  seed?: number | string;
  name?: string;
}

function hadamardFamily(n: number, m: number, options: HadamRnnOptions, who: 'hadamRnn' | 'blockHadamRnn'): OrthogonalParameterization {
  checkOrder(n, who);
  const factors = hadamardFactors(m);
  if (!factors) throw new Error(`${who}: no factorisation p·2^k of order ${m} with a Hadamard matrix of order p (known here: 2^k, Paley I/II primes, Kronecker products)`);
  const h = blockKroneckerHadamard(n, m);
  const hm = m === n ? h : kroneckerHadamard(m);
  const scale = 1 / Math.sqrt(m);
  const u0 = options.init ?? createRng(options.seed ?? 0).fork('init/u').uniformArray(n, -1, 1);
  if (u0.length !== n) throw new Error(`${who}: init must have ${n} entries, got ${u0.length}`);
  const u = newVariable(u0, [n], options.name);
  const hScaled = tf.keep(tf.tensor2d(Float32Array.from(h, (v) => v * scale), [n, n]));
  const fast = isPowerOfTwo(m);
  const signs = (): tf.Tensor1D => signSte(u) as tf.Tensor1D;
  const matrix = (): tf.Tensor2D => tf.tidy(() => tf.mul(tf.reshape(signs(), [n, 1]), hScaled));
  const operator: HadamardOperator = {
    kind: 'hadamard',
    n,
    blockSize: m,
    scale,
    fastTransform: fast,
    hadamard: hm,
    factors: { p: factors.p, q: factors.q, hadamardP: hadamard(factors.p) },
    signs,
    signsData: () => Int8Array.from(u.dataSync(), (v) => (v >= 0 ? 1 : -1)),
    applyRows: (x: tf.Tensor2D) =>
      tf.tidy(() => {
        if (x.rank !== 2 || x.shape[1] !== n) throw new Error(`${who}: applyRows expects rows [B, ${n}], got [${x.shape.join(', ')}]`);
        // W r = D (H/√m) r per row r; rows: (x Hᵀ)/√m, and Sylvester's H is symmetric.
        const hx = fast ? fwht(x, { blockSize: m, normalize: true }) : tf.matMul(x, tf.transpose(hScaled));
        return tf.mul(hx, tf.reshape(signs(), [1, n]));
      }),
  };
  return {
    kind: m === n ? 'hadamard' : 'block-hadamard',
    n,
    tolerance: 1e-6,
    variables: () => [u],
    matrix,
    structured: () => operator,
    dispose: () => {
      u.dispose();
      hScaled.dispose();
    },
  };
}

/**
 * HadamRNN: W = diag(sign u) · H_n/√n.
 * - u ∈ ℝⁿ is the only trained parameter; sign has an identity STE.
 * - Exactly orthogonal for every u, entries ±1/√n; H_n from `hadamard(n)` (Sylvester for
 *   n = 2^k, so `structured().fastTransform` is true and W h costs O(n log n) additions).
 */
export function hadamRnn(n: number, options: HadamRnnOptions = {}): OrthogonalParameterization {
  return hadamardFamily(n, n, options, 'hadamRnn');
}

/**
 * Block-HadamRNN: W = diag(sign u) · (I_{n/m} ⊗ H_m/√m).
 * - Block diagonal, ternary {0, ±1/√m}, a fraction 1 − m/n of zeros, orthogonal.
 * - Throws when m does not divide n or order m has no Hadamard construction here.
 */
export function blockHadamRnn(n: number, m: number, options: HadamRnnOptions = {}): OrthogonalParameterization {
  if (!Number.isInteger(m) || m < 1 || n % m !== 0) throw new Error(`blockHadamRnn: block size m = ${m} must divide n = ${n}`);
  return hadamardFamily(n, m, options, 'blockHadamRnn');
}
