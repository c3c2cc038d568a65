/** Exponential-map parameterization (expRNN, Lezcano-Casado & Martínez-Rubio 2019): W = exp(A), A skew. */
import { tf } from '@orthoquant/runtime';
import { expm } from './expm.js';
import { skew } from './linalg.js';
import type { SkewMode } from './linalg.js';
import { checkOrder, newVariable, skewInit } from './init.js';
import type { InitKind, OrthogonalParameterization } from './types.js';

export interface ExpMapOptions {
  /** A = triu(L,1) − triu(L,1)ᵀ ('upper', default) or L − Lᵀ ('full'). */
  skew?: SkewMode;
  init?: InitKind | Float32Array;
  seed?: number | string;
  name?: string;
}

function expMapParameterization(n: number, options: ExpMapOptions): OrthogonalParameterization {
  checkOrder(n, 'expMap');
  const init = options.init ?? 'henaff';
  const l0 = init instanceof Float32Array ? init : skewInit(n, init, options.seed ?? 0, (t) => t);
  if (l0.length !== n * n) throw new Error(`expMap: init must have ${n * n} entries, got ${l0.length}`);
  const latent = newVariable(l0, [n, n], options.name);
  const mode = options.skew ?? 'upper';
  return {
    kind: 'expMap',
    n,
    tolerance: 1e-5,
    variables: () => [latent],
    matrix: () => tf.tidy(() => expm(skew(latent as unknown as tf.Tensor2D, mode))),
    dispose: () => latent.dispose(),
  };
}

/**
 * Exponential map: a parameterization, or exp of a given matrix.
 * - `expMap(n, options)`: latent L [n, n], A = triu(L,1) − triu(L,1)ᵀ (or L − Lᵀ),
 *   W = exp(A) ∈ SO(n). Init 'henaff' (2×2 rotations by θ ~ U[−π, π]), 'identity', 'random'.
 * - `expMap(X)`: exp(X) for any square X (= `expm`).
 * - exp by scaling-and-squaring Padé [7/7]; gradient = adjoint Fréchet derivative
 *   L(Aᵀ, G), the upper-right block of exp([[Aᵀ, G], [0, Aᵀ]]).
 */
export function expMap(n: number, options?: ExpMapOptions): OrthogonalParameterization;
export function expMap(x: tf.Tensor2D): tf.Tensor2D;
export function expMap(arg: number | tf.Tensor2D, options?: ExpMapOptions): OrthogonalParameterization | tf.Tensor2D {
  if (typeof arg === 'number') return expMapParameterization(arg, options ?? {});
  return expm(arg);
}
