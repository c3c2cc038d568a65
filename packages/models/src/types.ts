/**
 * The one interface every recurrent model implements, and the model configurations.
 *
 * Conventions (shared by every model, by `getWeights()` and by the integer engine):
 * - sequences are time-major: float inputs `[T, B, inputSize]`, token inputs int32 `[T, B]`;
 * - `W` is `[n, n]` in the papers' convention `h_t = W h_{t−1} + …`;
 * - `U` is stored `[inputSize, n]` and `V` `[n, outputSize]` (row-vector convention:
 *   `z_t = x_t U + b`, `ŷ_t = f(h_t) V + c`), so that both are one matmul over T·B rows;
 * - logits are `[T, B, outputSize]` (readout `many-to-many`) or `[B, outputSize]` (`last`).
 */
import type { z } from 'zod';
import type { tf } from '@orthoquant/runtime';
import type { ACTIVATIONS, BIAS_INITS, QAT_STRATEGIES, ORTHOGONAL_METHODS, READOUTS, U_INITS, W_INITS, baselineConfigSchema, hadamRnnConfigSchema, modelConfigSchema, ornnConfigSchema, qornnConfigSchema } from './config.js';

export { ORTHOGONAL_METHODS, W_INITS, QAT_STRATEGIES, BIAS_INITS, U_INITS } from './config.js';

export type Activation = (typeof ACTIVATIONS)[number];
export type Readout = (typeof READOUTS)[number];
export type OrthogonalMethod = (typeof ORTHOGONAL_METHODS)[number];
export type WInit = (typeof W_INITS)[number];
export type QatStrategy = (typeof QAT_STRATEGIES)[number];
export type BiasInit = (typeof BIAS_INITS)[number];
export type UInit = (typeof U_INITS)[number];

/**
 * Keys whose defaults the models apply themselves (`readout: auto`, `biasInit: fan-in`,
 * `paddingIdx: 0`, `uInit: xavier`, the same as the schema's), so a config built in code may
 * leave them out.
 */
type SelfDefaulted = 'readout' | 'biasInit' | 'paddingIdx' | 'uInit';
type Loosen<T> = T extends unknown ? Omit<T, SelfDefaulted & keyof T> & Partial<Pick<T, SelfDefaulted & keyof T>> : never;

/** Model configs as parsed (defaults filled in): the types of the schemas in `config.ts`. */
export type OrnnConfig = Loosen<z.output<typeof ornnConfigSchema>>;
export type QornnConfig = Loosen<z.output<typeof qornnConfigSchema>>;
export type HadamRnnConfig = Loosen<z.output<typeof hadamRnnConfigSchema>>;
export type BaselineConfig = Loosen<z.output<typeof baselineConfigSchema>>;
export type ModelConfig = OrnnConfig | QornnConfig | HadamRnnConfig | BaselineConfig;
/** What a user may write: every defaulted key optional. */
export type ModelConfigInput = z.input<typeof modelConfigSchema>;
export type ModelType = ModelConfig['type'];

/** What the task tells the model about its data. */
export interface ModelIO {
  /** Features per step for float inputs; ignored when `vocabSize` is set. */
  inputSize: number;
  outputSize: number;
  /** Token inputs: vocabulary size (inputs are int32 ids `[T, B]`). */
  vocabSize?: number;
  /** The task's readout; the config's `readout` overrides it unless `auto`. */
  readout: Readout;
}

/** A float weight with its shape. */
export interface NamedWeight {
  shape: number[];
  data: Float32Array;
}
export type NamedWeights = Record<string, NamedWeight>;

/** Trainable variables, grouped for a separate learning rate on the orthogonal part. */
export interface ParameterGroups {
  /** Latent parameters of W (skew A, latent W, HadamRNN's u): `optimizer.orthLr`. */
  orthogonal: tf.Variable[];
  /** Everything else (U, V, biases, embeddings, gates): `optimizer.lr`. */
  other: tf.Variable[];
  /**
   * Parameters that update themselves (projUNN keeps W orthogonal with its own Riemannian
   * step): the trainer takes dL/d`variable` and calls `step(grad, lr)` instead of an optimizer.
   */
  managed: ManagedParameter[];
}

export interface ManagedParameter {
  variable: tf.Variable;
  step(grad: tf.Tensor2D, learningRate: number): void;
}

/** One stored parameter in the size account. */
export interface SizeEntry {
  name: string;
  /** Number of stored values. */
  count: number;
  /** Bits per value (32 for float, k for a k-bit code, 1 for a sign). */
  bitsPerValue: number;
  /** Extra bits stored once (a float scale per quantized tensor). */
  overheadBits: number;
  bits: number;
}
export interface SizeReport {
  entries: SizeEntry[];
  totalBits: number;
  /** ceil(totalBits / 8). */
  totalBytes: number;
  /** Bits of the recurrent weight W alone. */
  recurrentBits: number;
  parameterCount: number;
}

/** Per-tensor quantization of the stored weights (null = float). */
export type QuantizationInfo = Record<string, { bits: number | null; kind: 'uniform' | 'sign' | 'float' }>;

export interface ModelDiagnostics {
  /** ‖WᵀW − I‖_max of the W used in the forward pass (absent for LSTM etc.). */
  orthogonalityError?: number;
  /** Fraction of exactly-zero entries of the forward W. */
  zeroFraction?: number;
  /** Signs (±1) of HadamRNN's u, to count flips between epochs. */
  signs?: Int8Array;
}

/**
 * Recurrent state between consecutive batches (truncated BPTT on PTB): `[h]` `[B, n]`, or
 * `[h, c]` for the LSTM. Zeros when absent.
 */
export type ModelState = tf.Tensor2D[];

/** Every recurrent model. Tensors returned by `forward` belong to the caller. */
export interface RecurrentModel {
  readonly config: ModelConfig;
  readonly io: ModelIO;
  readonly readout: Readout;
  readonly hidden: number;
  /**
   * Logits for a whole time-major batch: `[T, B, out]` (many-to-many) or `[B, out]` (last).
   * Differentiable w.r.t. every trainable variable.
   */
  forward(x: tf.Tensor, state?: ModelState | null): tf.Tensor;
  /**
   * True when the model also takes one-hot float inputs `[T, B, inputSize]` as their int32 hot
   * indices `[T, B]` (tasks whose batches carry `hot`: the copy task, PTB one-hot).
   */
  readonly oneHotIndices?: boolean;
  /** `forward` that also returns the final state (for carrying it to the next batch). */
  forwardWithState(x: tf.Tensor, state?: ModelState | null): { logits: tf.Tensor; state: ModelState };
  /**
   * Optional fused training loss: the mean softmax cross-entropy of `forward(x, state)`
   * against int32 targets (`[T, B]` many-to-many, `[B]` last step) without materialising the
   * logits; null where it does not apply (the caller then uses `forward` and its own loss).
   */
  trainingLoss?(x: tf.Tensor, targets: tf.Tensor, state?: ModelState | null, wantState?: boolean): { loss: tf.Scalar; state: ModelState } | null;
  trainableVariables(): ParameterGroups;
  /** Called by the trainer after each optimizer step (projections, projUNN). */
  afterStep?(): void;
  /** HadamRNN: the current signs of u (±1), cheap enough to read after every step. */
  signs?(): Int8Array;
  quantization(): QuantizationInfo;
  diagnostics(): ModelDiagnostics;
  sizeBits(): SizeReport;
  /** Stored (latent) parameters by name, copies. */
  getWeights(): NamedWeights;
  /** Restore from `getWeights()` output (names and shapes must match). */
  setWeights(w: NamedWeights): void;
  /**
   * The weights as the forward pass uses them (W materialised and quantized, U/V quantized):
   * `W`, `U`, `b`, `V`, `c` (+ `embedding`, or gate matrices for the baselines).
   */
  effectiveWeights(): NamedWeights;
  dispose(): void;
}
