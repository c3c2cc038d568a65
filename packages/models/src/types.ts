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
import type { tf } from '@orthoquant/runtime';

export type Activation = 'linear' | 'relu' | 'tanh' | 'modrelu';
export type Readout = 'many-to-many' | 'last';

/** Orthogonal parameterizations of W for ORNN. */
export const ORTHOGONAL_METHODS = ['cayley', 'scaledCayley', 'expMap', 'bjorck', 'projUNN-D', 'projUNN-T', 'hadamard'] as const;
export type OrthogonalMethod = (typeof ORTHOGONAL_METHODS)[number];

/** How W is initialised (see `init.ts`). */
export const W_INITS = ['random', 'identity', 'henaff', 'cayley'] as const;
export type WInit = (typeof W_INITS)[number];

export const QAT_STRATEGIES = ['ste-bjorck', 'ste-projUNN-D', 'ste-projUNN-T'] as const;
export type QatStrategy = (typeof QAT_STRATEGIES)[number];

interface CommonModelConfig {
  /** Hidden size n. */
  hidden: number;
  /** `auto` takes the task's (many-to-many for copy/PTB, last for MNIST/IMDB). */
  readout?: Readout | 'auto';
  /** Learned token embedding size for token tasks (IMDB, PTB); ignored for float inputs. */
  embeddingDim?: number;
  /**
   * Init of the biases b (added every step) and c (readout): `fan-in` is PyTorch's
   * `nn.Linear` default U(±1/√fan_in) with fan_in = n for both (the reference code's b belongs
   * to its recurrent layer `nn.Linear(n, n)`, c to the readout `nn.Linear(n, out)`) (default);
   * `zeros` is our earlier init.
   */
  biasInit?: BiasInit;
  /**
   * Embedding row that is zero and never trained (`nn.Embedding(…, padding_idx=0)` in the
   * reference code; default 0); `null` learns every row.
   */
  paddingIdx?: number | null;
}

export const BIAS_INITS = ['fan-in', 'zeros'] as const;
export type BiasInit = (typeof BIAS_INITS)[number];

/** HadamRNN's latent u: `xavier` U(±√(6/(n+1))) as the reference's Xavier-uniform on a [1, n] tensor (default); `normal` N(0, 1). */
export const U_INITS = ['xavier', 'normal'] as const;
export type UInit = (typeof U_INITS)[number];

/** Full-precision orthogonal RNN. */
export interface OrnnConfig extends CommonModelConfig {
  type: 'ornn';
  /** `linear`: the reference code's `h_t = W h_{t−1} + U x_t + b`; otherwise `σ(…)`. */
  activation: Activation;
  orthogonal: OrthogonalMethod;
  /** Block size m for `orthogonal: hadamard` (Block-Hadamard, fixed signs from the init). */
  blockSize?: number;
  init: WInit | 'auto';
  /** Rank of the projUNN update (projUNN-D/T only). */
  projRank?: number;
  /** scaledCayley: number ρ of −1 entries of D (default ⌊n/2⌋). */
  negativeOnes?: number;
  /** Readout nonlinearity `ŷ = V f(h) + c`. */
  readoutActivation: 'relu' | 'linear';
}

/** Quantized orthogonal RNN (QAT), W/U/V at `bits`. */
export interface QornnConfig extends CommonModelConfig {
  type: 'qornn';
  activation: Activation;
  strategy: QatStrategy;
  /** k: bits of W (and of U, V unless `ioBits` says otherwise). */
  bits: number;
  /** Bits of U and V; `bits` when absent. */
  ioBits?: number;
  /**
   * `false`: U and V stay float and only W is quantized — the HadamRNN reference's
   * `SpectralQSSM` (linear ORNN, W Björck-orthogonalised then k-bit). Absent means true.
   */
  quantizeIO?: boolean;
  init: WInit | 'auto';
  projRank?: number;
  readoutActivation: 'relu' | 'linear';
}

/** HadamRNN (blockSize absent or = hidden) and Block-HadamRNN (blockSize m < n). */
export interface HadamRnnConfig extends CommonModelConfig {
  type: 'hadamrnn';
  activation: Activation;
  blockSize?: number;
  /** p: bits of U and V (4 in every paper config). `null` keeps them float. */
  bits: number | null;
  /** Init of the latent u (default `xavier`, the reference's). */
  uInit?: UInit;
  readoutActivation: 'relu' | 'linear';
}

/** LSTM / FastRNN / FastGRNN baselines; `bits` quantizes every weight matrix (QAT, STE). */
export interface BaselineConfig extends CommonModelConfig {
  type: 'lstm' | 'fastrnn' | 'fastgrnn';
  bits: number | null;
}

export type ModelConfig = OrnnConfig | QornnConfig | HadamRnnConfig | BaselineConfig;
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
