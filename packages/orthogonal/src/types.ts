/** The one interface every parameterization of the recurrent matrix W implements. */
import type { tf } from '@orthoquant/runtime';

export type ParameterizationKind =
  | 'cayley'
  | 'expMap'
  | 'bjorck'
  | 'polar'
  | 'projUNN-D'
  | 'projUNN-T'
  | 'hadamard'
  | 'block-hadamard';

/**
 * A structured W = diag(s) · (I_{n/m} ⊗ H_m) · scale (HadamRNN, Block-HadamRNN), for kernels
 * that apply W without the dense matrix.
 */
export interface HadamardOperator {
  kind: 'hadamard';
  n: number;
  /** Block size m (m = n for a full Hadamard matrix). */
  blockSize: number;
  /** 1/√m. */
  scale: number;
  /** True when m is a power of two: H_m is Sylvester's and `fwht` applies it. */
  fastTransform: boolean;
  /** H_m, ±1 entries, row-major [m, m]. */
  hadamard: Int8Array;
  /**
   * H_m = H_p ⊗ H_q, q = 2^k (`kroneckerHadamard`): p = 1 for powers of two; H_p row-major
   * [p, p]. A kernel applies H_m as the fast transform of each q-slice, then H_p across slices.
   */
  factors: { p: number; q: number; hadamardP: Int8Array };
  /** The ±1 diagonal s = sign(u) (sign(0) = +1) as a tensor, identity STE: differentiable in u. */
  signs(): tf.Tensor1D;
  /** The current signs on the host (±1). */
  signsData(): Int8Array;
  /** Rows h [B, n] → rows of (W hᵀ)ᵀ = h Wᵀ (fast transform when available), differentiable. */
  applyRows(h: tf.Tensor2D): tf.Tensor2D;
}

/**
 * Latent parameters → orthogonal W.
 *
 * - `variables()` are trained by an ordinary optimizer (Adam…): pass them to
 *   `tf.variableGrads` / `optimizer.minimize(f, false, p.variables())`.
 * - `matrix()` builds W [n, n] from them, recorded by autodiff: call it inside the loss
 *   function (inside `tf.tidy` / `tf.grad`), every step — it is not cached.
 * - `afterStep()` (projection methods): call after every optimizer step.
 * - `managed` (projUNN): W is itself the state and is updated by its own Riemannian step;
 *   take dL/dW for `managed.variable` and call `managed.step(grad)` instead of Adam.
 */
export interface OrthogonalParameterization {
  readonly kind: ParameterizationKind;
  readonly n: number;
  /** Trainable latent variables (empty for projUNN). */
  variables(): tf.Variable[];
  /** W [n, n]; differentiable w.r.t. `variables()` (or `managed.variable`). */
  matrix(): tf.Tensor2D;
  /** Structured form, when W has one (Hadamard family). */
  structured?(): HadamardOperator;
  /** Re-projection after an optimizer step (projection methods, when enabled). */
  afterStep?(): void;
  /** Self-updating parameterizations (projUNN). */
  managed?: ManagedUpdate;
  /** Largest |(WᵀW − I)_ij| the parameterization promises in float32. */
  readonly tolerance: number;
  dispose(): void;
}

export interface ManagedUpdate {
  /** Holds W itself; differentiate the loss w.r.t. it. */
  variable: tf.Variable;
  /** One update from the Euclidean gradient dL/dW (the variable stays orthogonal). */
  step(grad: tf.Tensor2D, learningRate?: number): void;
}

/** Initial latent state: `'identity'` (W = I or D), seeded `'random'`, or Henaff-style `'henaff'` 2×2 rotations. */
export type InitKind = 'identity' | 'random' | 'henaff';
