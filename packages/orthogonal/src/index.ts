/**
 * @orthoquant/orthogonal — every parameterization of an orthogonal recurrent matrix W behind
 * one interface (`OrthogonalParameterization`), the Hadamard constructions and the fast
 * Walsh–Hadamard transform.
 *
 * Parameterizations (latent tf.Variables → W, differentiable with tfjs autodiff):
 * `cayley(n)`, `expMap(n)`, `bjorck(n)`, `polar(n)`, `projUNN(n)`, `hadamRnn(n)`,
 * `blockHadamRnn(n, m)`. `cayley`, `expMap`, `bjorck`, `polar` called with a tensor instead
 * of n apply the transform to that tensor.
 *
 * @example
 * ```ts
 * import { tf } from '@orthoquant/runtime';
 * import { expMap } from '@orthoquant/orthogonal';
 * const w = expMap(128, { seed: 1 });                  // or cayley, bjorck, hadamRnn, …
 * const opt = tf.train.adam(1e-3);
 * opt.minimize(() => tf.tidy(() => lossOf(w.matrix())), false, w.variables());
 * w.afterStep?.();                                     // projection methods
 * // projUNN owns its update: g = dL/dW for w.managed.variable; w.managed.step(g)
 * // HadamRNN: w.structured().applyRows(h) computes rows of h Wᵀ with the fast transform
 * ```
 */
export type {
  OrthogonalParameterization,
  ParameterizationKind,
  HadamardOperator,
  ManagedUpdate,
  InitKind,
} from './types.js';

export { cayley, cayleyTransform } from './cayley.js';
export type { CayleyOptions } from './cayley.js';
export { expMap } from './exp-map.js';
export type { ExpMapOptions } from './exp-map.js';
export { expm } from './expm.js';
export { bjorck, polar, randomOrthogonal } from './projected.js';
export type { BjorckParameterizationOptions, PolarParameterizationOptions } from './projected.js';
export { spectralNormalize, bjorckOrthogonalize, polarFactor, powerIterationStart } from './projection.js';
export type { SpectralNormalizeOptions, BjorckOptions, PolarOptions, IterationReport } from './projection.js';

export { hadamard, sylvester, blockHadamard, hadamardTensor, hadamardConstruction, hadamardOrders, isPowerOfTwo, kronecker, hadamardFactors, kroneckerHadamard, blockKroneckerHadamard } from './hadamard.js';
export type { HadamardConstruction } from './hadamard.js';
export { fwht, fwhtInPlace } from './fwht.js';
export type { FwhtOptions } from './fwht.js';
export { hadamRnn, blockHadamRnn } from './hadamard-rnn.js';
export { hadamardTransformInPlace } from './kronecker-transform.js';
export type { HadamRnnOptions } from './hadamard-rnn.js';

export { projUNN, projUnnStep, lowRankFactors } from './projunn.js';
export type { ProjUnnOptions, ProjUnnStepOptions, ProjUnnVariant } from './projunn.js';

export { solve, skew, stopGradient, orthogonalityError, extremeEigenvalues } from './linalg.js';
export type { SkewMode } from './linalg.js';
