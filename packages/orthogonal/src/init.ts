/** Shared initialisers of latent skew-symmetric generators. */
import { createRng, tf } from '@orthoquant/runtime';
import type { InitKind } from './types.js';

export function checkOrder(n: number, who: string): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${who}: n must be a positive integer, got ${n}`);
}

/**
 * Latent L [n, n] (row-major) whose strictly upper part generates A = triu(L,1) − triu(L,1)ᵀ.
 * - 'identity': zeros (A = 0).
 * - 'henaff': 2×2 blocks, L_{2i,2i+1} = g(θ_i), θ_i ~ U[−π, π], g = angle map of the
 *   parameterization (θ for exp, tan(θ/2) for Cayley) — a rotation by θ_i in each plane.
 * - 'random': N(0, std²) on the strict upper triangle.
 */
export function skewInit(n: number, kind: InitKind, seed: number | string, angle: (theta: number) => number, std = 0.1): Float32Array {
  const l = new Float32Array(n * n);
  const rng = createRng(seed).fork('init/skew');
  if (kind === 'henaff') {
    for (let i = 0; i + 1 < n; i += 2) l[i * n + i + 1] = angle(rng.uniformIn(-Math.PI, Math.PI));
  } else if (kind === 'random') {
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) l[i * n + j] = rng.normal(0, std);
  } else if (kind !== 'identity') {
    throw new Error(`init: expected 'identity' | 'random' | 'henaff', got '${String(kind)}'`);
  }
  return l;
}

/** A trainable tf.Variable holding `values` (the temporary initial tensor is disposed). */
export function newVariable(values: Float32Array, shape: number[], name?: string, trainable = true): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor(values, shape), trainable, name));
}
