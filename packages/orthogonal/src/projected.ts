/**
 * Projection parameterizations: a free latent matrix V, W = project(V).
 * - 'bjorck' (QORNN STE-Björck): W = Björck(spectralNormalize(V)).
 * - 'polar': W = polar factor of V (Newton–Schulz to float32 convergence).
 */
import { tf, createRng } from '@orthoquant/runtime';
import { orthonormalColumns } from './linalg.js';
import { bjorckOrthogonalize, polarFactor, powerIterationStart, spectralNormalize } from './projection.js';
import type { BjorckOptions, IterationReport, PolarOptions } from './projection.js';
import { checkOrder, newVariable } from './init.js';
import type { OrthogonalParameterization } from './types.js';

/** A Haar-random orthogonal matrix (Gram–Schmidt of a seeded Gaussian matrix, Float64), row-major. */
export function randomOrthogonal(n: number, seed: number | string = 0): Float32Array {
  checkOrder(n, 'randomOrthogonal');
  const rng = createRng(seed).fork('init/orthogonal');
  const g = new Float64Array(n * n);
  for (let i = 0; i < g.length; i++) g[i] = rng.normal();
  const { q, r } = orthonormalColumns(g, n, n);
  if (r !== n) throw new Error(`randomOrthogonal: rank-deficient draw (${r} < ${n}); try another seed`);
  return Float32Array.from(q);
}

interface ProjectedCommon {
  /** Initial latent V: 'orthogonal' (Haar-random, default), 'identity', or given values. */
  init?: 'orthogonal' | 'identity' | Float32Array;
  seed?: number | string;
  name?: string;
  /** afterStep copies W back into V (keeps V on the manifold). Default false (QORNN keeps V free). */
  retract?: boolean;
}

export interface BjorckParameterizationOptions extends ProjectedCommon, BjorckOptions {
  /** Power iterations of the spectral normalisation (default 10; 1–2 with `persistentPowerIteration`). */
  powerIterations?: number;
  /** Keep the power-iteration vector across calls (warm start). Default false. */
  persistentPowerIteration?: boolean;
}

export interface PolarParameterizationOptions extends ProjectedCommon, PolarOptions {}

function latentInit(n: number, options: ProjectedCommon, who: string): tf.Variable {
  const init = options.init ?? 'orthogonal';
  let v: Float32Array;
  if (init instanceof Float32Array) v = init;
  else if (init === 'orthogonal') v = randomOrthogonal(n, options.seed ?? 0);
  else if (init === 'identity') v = tf.tidy(() => tf.eye(n).dataSync() as Float32Array);
  else throw new Error(`${who}: init must be 'orthogonal' | 'identity' | Float32Array, got '${String(init)}'`);
  if (v.length !== n * n) throw new Error(`${who}: init must have ${n * n} entries, got ${v.length}`);
  return newVariable(v, [n, n], options.name);
}

function projected(n: number, kind: 'bjorck' | 'polar', options: ProjectedCommon, tolerance: number, project: (v: tf.Tensor2D) => tf.Tensor2D, extra: tf.Variable[] = []): OrthogonalParameterization {
  const latent = latentInit(n, options, kind);
  const matrix = (): tf.Tensor2D => project(latent as unknown as tf.Tensor2D);
  return {
    kind,
    n,
    tolerance,
    variables: () => [latent],
    matrix,
    afterStep: () => {
      if (options.retract) tf.tidy(() => latent.assign(matrix()));
    },
    dispose: () => {
      latent.dispose();
      for (const v of extra) v.dispose();
    },
  };
}

function bjorckParameterization(n: number, options: BjorckParameterizationOptions): OrthogonalParameterization & { lastReport: IterationReport } {
  checkOrder(n, 'bjorck');
  const report: IterationReport = { iterations: 0, change: Number.NaN };
  const state = options.persistentPowerIteration ? tf.tidy(() => tf.variable(powerIterationStart(n, Number(options.seed ?? 0) || 0), false)) : undefined;
  const p = projected(
    n,
    'bjorck',
    options,
    // Stopping at an entry change < tol leaves ‖WᵀW − I‖_max ≈ 4·tol² (one more quadratic step); 1e-5 bounds it at tol = 1e-3.
    Math.max(1e-5, 8 * (options.tol ?? 1e-3) ** 2),
    (v) => tf.tidy(() => bjorckOrthogonalize(spectralNormalize(v, { iterations: options.powerIterations ?? 10, state }), { ...options, report })),
    state ? [state] : [],
  );
  return Object.assign(p, { lastReport: report });
}

function polarParameterization(n: number, options: PolarParameterizationOptions): OrthogonalParameterization {
  checkOrder(n, 'polar');
  return projected(n, 'polar', options, 1e-5, (v) => polarFactor(v, options));
}

/**
 * Björck: a parameterization, or the projection of a given matrix.
 * - `bjorck(n, options)`: latent V [n, n] (init Haar-random orthogonal),
 *   W = Björck(spectralNormalize(V)) with W ← (1 + β)W − βWWᵀW, β = ½, until the largest
 *   entry change < tol (1e-3) or 15 iterations; differentiable through the iterations
 *   (QORNN's STE-Björck puts the quantizer after it). Promise: ‖WᵀW − I‖_max ≤ max(1e-5, 8·tol²).
 * - `bjorck(W, options)`: the iteration on a given tensor (normalise W first).
 */
export function bjorck(n: number, options?: BjorckParameterizationOptions): OrthogonalParameterization & { lastReport: IterationReport };
export function bjorck(w: tf.Tensor2D, options?: BjorckOptions & { report?: IterationReport }): tf.Tensor2D;
export function bjorck(arg: number | tf.Tensor2D, options: BjorckParameterizationOptions & { report?: IterationReport } = {}): (OrthogonalParameterization & { lastReport: IterationReport }) | tf.Tensor2D {
  if (typeof arg === 'number') return bjorckParameterization(arg, options);
  return bjorckOrthogonalize(arg, options);
}

/**
 * Polar: a parameterization, or the polar factor of a given matrix.
 * - `polar(n, options)`: latent V [n, n], W = Q with V = QP (nearest orthogonal matrix).
 * - `polar(W, options)`: Q for a given square W (spectral scaling + Newton–Schulz, tol 1e-6).
 */
export function polar(n: number, options?: PolarParameterizationOptions): OrthogonalParameterization;
export function polar(w: tf.Tensor2D, options?: PolarOptions & { report?: IterationReport }): tf.Tensor2D;
export function polar(arg: number | tf.Tensor2D, options: PolarParameterizationOptions & { report?: IterationReport } = {}): OrthogonalParameterization | tf.Tensor2D {
  if (typeof arg === 'number') return polarParameterization(arg, options);
  return polarFactor(arg, options);
}
