/**
 * The model part of a trial config (`model:`), as a zod schema: the one declaration of every
 * model's options, their defaults and their checks. The TypeScript types of `types.ts` are
 * inferred from it. Every error names the key path, what was expected and what was given
 * (`model.bits: expected an integer in 1..16, got 0`). `train` composes it into the trial
 * config; defaults are filled in, so the parsed config is the complete record of a model.
 */
import { z } from 'zod';
import { InputError, int, issueMessages, oneOf, show } from '@orthoquant/runtime';

/** Orthogonal parameterizations of W for ORNN. */
export const ORTHOGONAL_METHODS = ['cayley', 'scaledCayley', 'expMap', 'bjorck', 'projUNN-D', 'projUNN-T', 'hadamard'] as const;

/** How W is initialised (see `init.ts`). */
export const W_INITS = ['random', 'identity', 'henaff', 'cayley'] as const;

export const QAT_STRATEGIES = ['ste-bjorck', 'ste-projUNN-D', 'ste-projUNN-T'] as const;

/**
 * Init of the biases b (added every step) and c (readout): `fan-in` is PyTorch's `nn.Linear`
 * default U(±1/√fan_in) with fan_in = n for both (the reference code's b belongs to its
 * recurrent layer `nn.Linear(n, n)`, c to the readout `nn.Linear(n, out)`) (default); `zeros`
 * is our earlier init.
 */
export const BIAS_INITS = ['fan-in', 'zeros'] as const;

/** HadamRNN's latent u: `xavier` U(±√(6/(n+1))) as the reference's Xavier-uniform on a [1, n] tensor (default); `normal` N(0, 1). */
export const U_INITS = ['xavier', 'normal'] as const;

export const ACTIVATIONS = ['linear', 'relu', 'tanh', 'modrelu'] as const;
export const READOUTS = ['many-to-many', 'last'] as const;
export const MODEL_TYPES = ['ornn', 'qornn', 'hadamrnn', 'lstm', 'fastrnn', 'fastgrnn'] as const;

/** Bits of a quantized weight matrix. */
const bits = int(1, 16);

const common = {
  /** Hidden size n. */
  hidden: int(1, 65536),
  /** `auto` takes the task's (many-to-many for copy/PTB, last for MNIST/IMDB). */
  readout: oneOf(['auto', ...READOUTS] as const).default('auto'),
  /** Learned token embedding size for token tasks (IMDB, PTB); ignored for float inputs. */
  embeddingDim: int(1, 65536).optional(),
  /** Reference default: nn.Linear's U(±1/√fan_in). */
  biasInit: oneOf(BIAS_INITS).default('fan-in'),
  /**
   * Embedding row that is zero and never trained (`nn.Embedding(…, padding_idx=0)` in the
   * reference code; default 0); `null` learns every row.
   */
  paddingIdx: int(0).nullable().default(0),
};
/** `linear`: the reference code's `h_t = W h_{t−1} + U x_t + b`; otherwise `σ(…)`. */
const activation = oneOf(ACTIVATIONS).default('linear');
/** Readout nonlinearity `ŷ = V f(h) + c`. */
const readoutActivation = oneOf(['relu', 'linear'] as const).default('relu');

/** The last keys of the dense-W models (ORNN, QORNN): how W starts, the projUNN rank, the readout nonlinearity. */
const denseWInit = {
  init: oneOf(['auto', ...W_INITS] as const).default('auto'),
  /** Rank of the projUNN update (projUNN-D/T only). */
  projRank: int(1, 65536).optional(),
  readoutActivation,
};

/** Full-precision orthogonal RNN. */
export const ornnConfigSchema = z.strictObject({
  type: z.literal('ornn'),
  ...common,
  activation,
  orthogonal: oneOf(ORTHOGONAL_METHODS).default('expMap'),
  /** scaledCayley: number ρ of −1 entries of D (default ⌊n/2⌋). */
  negativeOnes: int(0, 65536).optional(),
  /** Block size m for `orthogonal: hadamard` (Block-Hadamard, fixed signs from the init). */
  blockSize: int(1, 65536).optional(),
  ...denseWInit,
});

/** Quantized orthogonal RNN (QAT), W/U/V at `bits`. */
export const qornnConfigSchema = z.strictObject({
  type: z.literal('qornn'),
  ...common,
  activation,
  strategy: oneOf(QAT_STRATEGIES).default('ste-bjorck'),
  /** k: bits of W (and of U, V unless `ioBits` says otherwise). */
  bits,
  /** Bits of U and V; `bits` when absent. */
  ioBits: bits.optional(),
  /**
   * `false`: U and V stay float and only W is quantized — the HadamRNN reference's
   * `SpectralQSSM` (linear ORNN, W Björck-orthogonalised then k-bit). Absent means true.
   */
  quantizeIO: z.boolean().optional(),
  ...denseWInit,
});

/** HadamRNN (blockSize absent or = hidden) and Block-HadamRNN (blockSize m < n). */
export const hadamRnnConfigSchema = z.strictObject({
  type: z.literal('hadamrnn'),
  ...common,
  activation,
  blockSize: int(1, 65536).optional(),
  /** p: bits of U and V (4 in every paper config). `null` keeps them float. */
  bits: bits.nullable().default(4),
  /** Init of the latent u (default `xavier`, the reference's Xavier-uniform on [1, n]). */
  uInit: oneOf(U_INITS).default('xavier'),
  readoutActivation,
});

/** LSTM / FastRNN / FastGRNN baselines; `bits` quantizes every weight matrix (QAT, STE). */
const baseline = <T extends 'lstm' | 'fastrnn' | 'fastgrnn'>(type: T) => z.strictObject({ type: z.literal(type), ...common, bits: bits.nullable().default(null) });
export const baselineConfigSchema = z.discriminatedUnion('type', [baseline('lstm'), baseline('fastrnn'), baseline('fastgrnn')]);

export const modelConfigSchema = z.discriminatedUnion('type', [ornnConfigSchema, qornnConfigSchema, hadamRnnConfigSchema, baseline('lstm'), baseline('fastrnn'), baseline('fastgrnn')], {
  error: (iss) =>
    iss.code === 'invalid_union' ? `expected 'type' to be one of ${MODEL_TYPES.map((t) => `'${t}'`).join(' | ')}, got ${show((iss.input as { type?: unknown } | undefined)?.type)}` : undefined,
});

/** Validate a model config and fill in its defaults (the same messages as in a trial config; paths start at `model`). */
export function parseModelConfig(obj: unknown, where?: string): z.output<typeof modelConfigSchema> {
  const r = modelConfigSchema.safeParse(obj);
  if (!r.success) throw new InputError(issueMessages(r.error.issues, ['model']).join('; '), where);
  return r.data;
}
