/**
 * (Scaled) Cayley parameterization (scoRNN, Helfrich et al. 2018):
 * W = (I + A)⁻¹(I − A)D, A skew-symmetric, D = diag(±1) fixed.
 */
import { tf, createRng } from '@orthoquant/runtime';
import { skew, solve } from './linalg.js';
import type { SkewMode } from './linalg.js';
import { checkOrder, newVariable, skewInit } from './init.js';
import type { InitKind, OrthogonalParameterization } from './types.js';

export interface CayleyOptions {
  /** A = triu(L,1) − triu(L,1)ᵀ ('upper', default) or L − Lᵀ ('full'). */
  skew?: SkewMode;
  /**
   * D = diag(±1): number of −1 entries ρ (scoRNN's hyperparameter; placed at seeded random
   * positions), or the diagonal itself. Default 0 (plain Cayley, W = (I + A)⁻¹(I − A)).
   */
  negativeOnes?: number;
  d?: ArrayLike<number>;
  init?: InitKind | Float32Array;
  seed?: number | string;
  name?: string;
}

function checkD(d: ArrayLike<number>, n: number): Float32Array {
  if (d.length !== n) throw new Error(`cayley: D must have ${n} entries, got ${d.length}`);
  const out = Float32Array.from(d as ArrayLike<number>);
  for (let i = 0; i < n; i++) if (out[i] !== 1 && out[i] !== -1) throw new Error(`cayley: D entries must be ±1, got ${out[i]} at index ${i}`);
  return out;
}

/**
 * The Cayley transform as a tensor op: (I + A)⁻¹(I − A)·diag(d).
 * - Orthogonal for every skew-symmetric A (I + A is then invertible).
 * - Differentiable (solve with the adjoint rule).
 */
export function cayleyTransform(a: tf.Tensor2D, d?: ArrayLike<number> | tf.Tensor1D): tf.Tensor2D {
  if (a.rank !== 2 || a.shape[0] !== a.shape[1]) throw new Error(`cayley: expected a square matrix, got shape [${a.shape.join(', ')}]`);
  const n = a.shape[0];
  return tf.tidy(() => {
    const eye = tf.eye(n);
    let rhs = tf.sub(eye, a) as tf.Tensor2D;
    if (d !== undefined) {
      const dt = d instanceof tf.Tensor ? d : tf.tensor1d(checkD(d, n));
      rhs = tf.mul(rhs, tf.reshape(dt, [1, n]));
    }
    return solve(tf.add(eye, a) as tf.Tensor2D, rhs);
  });
}

function cayleyParameterization(n: number, options: CayleyOptions): OrthogonalParameterization {
  checkOrder(n, 'cayley');
  const seed = options.seed ?? 0;
  let d: Float32Array | null = null;
  if (options.d !== undefined) d = checkD(options.d, n);
  else if (options.negativeOnes) {
    const rho = options.negativeOnes;
    if (!Number.isInteger(rho) || rho < 0 || rho > n) throw new Error(`cayley: negativeOnes must be an integer in [0, ${n}], got ${rho}`);
    d = new Float32Array(n).fill(1);
    const perm = createRng(seed).fork('cayley/D').permutation(n);
    for (let i = 0; i < rho; i++) d[perm[i]] = -1;
  }
  const init = options.init ?? 'henaff';
  const l0 = init instanceof Float32Array ? init : skewInit(n, init, seed, (t) => Math.tan(Math.max(-1.4, Math.min(1.4, t / 2))));
  if (l0.length !== n * n) throw new Error(`cayley: init must have ${n * n} entries, got ${l0.length}`);
  const latent = newVariable(l0, [n, n], options.name);
  const dTensor = d ? tf.keep(tf.tensor1d(d)) : null;
  const mode = options.skew ?? 'upper';
  return {
    kind: 'cayley',
    n,
    tolerance: 1e-5,
    variables: () => [latent],
    matrix: () => cayleyTransform(skew(latent as unknown as tf.Tensor2D, mode), dTensor ?? undefined),
    dispose: () => {
      latent.dispose();
      dTensor?.dispose();
    },
  };
}

/**
 * Cayley: a parameterization, or the transform of a given skew matrix.
 * - `cayley(n, options)`: latent L [n, n] (tf.Variable), A = triu(L,1) − triu(L,1)ᵀ,
 *   W = (I + A)⁻¹(I − A)D. Init 'henaff' (2×2 rotations), 'identity' or 'random'.
 * - `cayley(A, d?)`: the tensor (I + A)⁻¹(I − A)diag(d).
 * W never has eigenvalue −1 without D; scoRNN's D (ρ entries −1) restores them.
 */
export function cayley(n: number, options?: CayleyOptions): OrthogonalParameterization;
export function cayley(a: tf.Tensor2D, d?: ArrayLike<number> | tf.Tensor1D): tf.Tensor2D;
export function cayley(arg: number | tf.Tensor2D, opt?: CayleyOptions | ArrayLike<number> | tf.Tensor1D): OrthogonalParameterization | tf.Tensor2D {
  if (typeof arg === 'number') return cayleyParameterization(arg, (opt as CayleyOptions | undefined) ?? {});
  return cayleyTransform(arg, opt as ArrayLike<number> | tf.Tensor1D | undefined);
}
