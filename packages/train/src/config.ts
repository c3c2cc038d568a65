/**
 * The trial config: everything `runTrial` needs, validated with zod. Every error names the
 * key path, what was expected and what was given (`model.bits: expected an integer in
 * 1..16, got 0`). Defaults are filled in, so the parsed config is the complete record of a
 * run (the sweep hashes it).
 */
import { z } from 'zod';
import { InputError } from '@orthoquant/runtime';
import { BIAS_INITS, ORTHOGONAL_METHODS, QAT_STRATEGIES, U_INITS, W_INITS } from '@orthoquant/models';
import type { ModelConfig } from '@orthoquant/models';
import { withDataDefaults } from '@orthoquant/tasks';

function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === undefined) return 'nothing';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** An integer in [lo, hi] with a message naming both. */
function int(lo: number, hi = Number.MAX_SAFE_INTEGER) {
  const range = hi === Number.MAX_SAFE_INTEGER ? `≥ ${lo}` : `in ${lo}..${hi}`;
  return z.custom<number>((v) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi, {
    error: (iss) => `expected an integer ${range}, got ${show(iss.input)}`,
  });
}

/** A finite number with optional bounds (`lo` exclusive when `open`). */
function num(lo = -Infinity, hi = Infinity, open = false) {
  const desc = [lo > -Infinity ? `${open ? '>' : '≥'} ${lo}` : '', hi < Infinity ? `≤ ${hi}` : ''].filter(Boolean).join(' and ');
  return z.custom<number>((v) => typeof v === 'number' && Number.isFinite(v) && (open ? v > lo : v >= lo) && v <= hi, {
    error: (iss) => `expected a number${desc ? ` ${desc}` : ''}, got ${show(iss.input)}`,
  });
}

function oneOf<const T extends readonly string[]>(choices: T) {
  return z.custom<T[number]>((v) => typeof v === 'string' && (choices as readonly string[]).includes(v), {
    error: (iss) => `expected one of ${choices.map((c) => `'${c}'`).join(' | ')}, got ${show(iss.input)}`,
  });
}

const bits = int(1, 16);

/** `'max'`, or a percentile of |x|: `{ percentile: 99.9 }` or the short form `'p99.9'` (kept as the object). */
const statistic = z
  .custom<'max' | `p${number}` | { percentile: number }>(
    (v) => {
      if (v === 'max') return true;
      let p: unknown;
      if (typeof v === 'string' && /^p\d+(\.\d+)?$/.test(v)) p = Number(v.slice(1));
      else if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).join() === 'percentile') p = (v as { percentile: unknown }).percentile;
      return typeof p === 'number' && p > 0 && p <= 100;
    },
    { error: (iss) => `expected 'max', 'p<percentile>' (e.g. 'p99.9') or { percentile: p } with 0 < p ≤ 100, got ${show(iss.input)}` },
  )
  .transform((v): 'max' | { percentile: number } => (typeof v === 'string' && v !== 'max' ? { percentile: Number(v.slice(1)) } : (v as 'max' | { percentile: number })));
const common = {
  hidden: int(1, 65536),
  readout: oneOf(['auto', 'many-to-many', 'last'] as const).default('auto'),
  embeddingDim: int(1, 65536).optional(),
  /** Reference default: nn.Linear's U(±1/√fan_in). */
  biasInit: oneOf(BIAS_INITS).default('fan-in'),
  /** Reference default: embedding row 0 is zero and never trained. */
  paddingIdx: int(0).nullable().default(0),
};
const activation = oneOf(['linear', 'relu', 'tanh', 'modrelu'] as const).default('linear');
const readoutActivation = oneOf(['relu', 'linear'] as const).default('relu');

const ornn = z.strictObject({
  type: z.literal('ornn'),
  ...common,
  activation,
  orthogonal: oneOf(ORTHOGONAL_METHODS).default('expMap'),
  negativeOnes: int(0, 65536).optional(),
  blockSize: int(1, 65536).optional(),
  init: oneOf(['auto', ...W_INITS] as const).default('auto'),
  projRank: int(1, 65536).optional(),
  readoutActivation,
});
const qornn = z.strictObject({
  type: z.literal('qornn'),
  ...common,
  activation,
  strategy: oneOf(QAT_STRATEGIES).default('ste-bjorck'),
  bits,
  ioBits: bits.optional(),
  /** false: U and V float, W alone at `bits` (the reference's SpectralQSSM); absent = true. */
  quantizeIO: z.boolean().optional(),
  init: oneOf(['auto', ...W_INITS] as const).default('auto'),
  projRank: int(1, 65536).optional(),
  readoutActivation,
});
const hadamrnn = z.strictObject({
  type: z.literal('hadamrnn'),
  ...common,
  activation,
  blockSize: int(1, 65536).optional(),
  bits: bits.nullable().default(4),
  /** Reference default: Xavier-uniform on [1, n]. */
  uInit: oneOf(U_INITS).default('xavier'),
  readoutActivation,
});
const baseline = (type: 'lstm' | 'fastrnn' | 'fastgrnn') =>
  z.strictObject({ type: z.literal(type), ...common, bits: bits.nullable().default(null) });

const MODEL_TYPES = ['ornn', 'qornn', 'hadamrnn', 'lstm', 'fastrnn', 'fastgrnn'] as const;
export const modelConfigSchema = z.discriminatedUnion('type', [ornn, qornn, hadamrnn, baseline('lstm'), baseline('fastrnn'), baseline('fastgrnn')], {
  error: (iss) =>
    iss.code === 'invalid_union' ? `expected 'type' to be one of ${MODEL_TYPES.map((t) => `'${t}'`).join(' | ')}, got ${show((iss.input as { type?: unknown } | undefined)?.type)}` : undefined,
});

const optimizer = z
  .strictObject({
    name: oneOf(['adam', 'rmsprop', 'sgd'] as const).default('adam'),
    lr: num(0, Infinity, true).default(1e-3),
    /** Learning rate of the orthogonal parameters (latent W, A, u); `lr` when absent. */
    orthLr: num(0, Infinity, true).optional(),
    betas: z.tuple([num(0, 1), num(0, 1)]).default([0.9, 0.999]),
    eps: num(0, Infinity, true).default(1e-8),
    /** RMSprop's smoothing constant α (PyTorch's name and default). */
    alpha: num(0, 1).default(0.99),
    momentum: num(0, 1).default(0),
    /** Clip gradients by their global L2 norm (all parameters together). */
    clipNorm: num(0, Infinity, true).optional(),
  })
  .prefault({});

const schedule = z
  .strictObject({
    /** lr ← lr·γ after every epoch (the papers': 0.98, 0.99). */
    gamma: num(0, 1, true).default(1),
    every: oneOf(['epoch'] as const).default('epoch'),
  })
  .prefault({});

const budget = z
  .strictObject({
    epochs: int(1).default(1),
    /** Stop after this many optimizer steps in total (may end mid-epoch). */
    steps: int(1).optional(),
    /** Also evaluate on val every this many steps (metrics join the step event). */
    evalEvery: int(1).optional(),
    /** Evaluate on at most this many val/test batches (all when absent). */
    evalBatches: int(1).optional(),
    /** Save a checkpoint every this many steps (and at each epoch end) when a directory is given. */
    checkpointEvery: int(1).optional(),
  })
  .prefault({});

export const trialConfigSchema = z.strictObject({
  seed: z
    .custom<number | string>((v) => (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && v !== ''), {
      error: (iss) => `expected an integer or a non-empty string, got ${show(iss.input)}`,
    })
    .default(0),
  /** Passed to `createTask` (which validates it key by key). */
  task: z.looseObject({ name: z.custom<string>((v) => typeof v === 'string' && v !== '', { error: (iss) => `expected a task name, got ${show(iss.input)}` }) }),
  model: modelConfigSchema,
  batchSize: int(1).default(128),
  /** Batch size for val/test (default: batchSize). */
  evalBatchSize: int(1).optional(),
  optimizer,
  schedule,
  budget,
  /**
   * `qat`: train the model as configured; `ptq`: then quantize it after training and evaluate
   * that too — its weights alone (`ptq.bits`, done by train, float activations) and/or the
   * whole model for the integer-only engines (`ptq.actBits`, done by the sweep's runner with
   * `@orthoquant/integer`).
   */
  mode: oneOf(['qat', 'ptq'] as const).default('qat'),
  ptq: z
    .strictObject({
      /** Weight-only PTQ: bits of W (and of the other weight matrices unless ioBits). */
      bits: bits.optional(),
      /** Weight-only PTQ: bits of U, V (and the other non-recurrent matrices). */
      ioBits: bits.optional(),
      /** Integer-only PTQ: bits of the input and hidden-state codes (QORNN's 6, 8, 10, 12, 16). */
      actBits: int(6, 16).optional(),
      /** Integer-only PTQ: bits of the weights that carry no QAT bits of their own (default 8). */
      weightBits: int(2, 16).optional(),
      /** Integer-only PTQ: clipping statistic of |activation| before the power-of-two range. */
      statistic: statistic.optional(),
      /** Integer-only PTQ: calibration batches drawn from the training split (default 10). */
      calibrationBatches: int(1).optional(),
    })
    .optional(),
});

export type TrialConfig = z.infer<typeof trialConfigSchema>;
/** What a user may write: every defaulted key optional. */
export type TrialConfigInput = z.input<typeof trialConfigSchema>;

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}

function issueMessages(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): string[] {
  const out: string[] = [];
  for (const iss of issues) {
    const path = [...prefix, ...iss.path];
    if (iss.code === 'unrecognized_keys') {
      for (const k of iss.keys) out.push(`${pathOf([...path, k])}: unknown key`);
    } else if (iss.code === 'invalid_union' && path.length && iss.message.startsWith('expected')) {
      const at = path[path.length - 1] === 'type' ? path : [...path, 'type'];
      out.push(`${pathOf(at)}: ${iss.message.replace("expected 'type' to be", 'expected')}`);
    } else if (iss.code === 'invalid_type' && iss.input === undefined) {
      out.push(`${pathOf(path)}: required (${iss.expected === 'custom' ? 'missing' : `expected ${iss.expected}`})`);
    } else {
      out.push(path.length ? `${pathOf(path)}: ${iss.message}` : iss.message);
    }
  }
  return out;
}

/**
 * Validate a trial config and fill in defaults. Throws an `InputError` whose message lists
 * every problem, each with its key path; `where` (a file, a sweep trial) prefixes it.
 */
export function parseTrialConfig(obj: unknown, where?: string): TrialConfig {
  const r = trialConfigSchema.safeParse(obj);
  if (!r.success) throw new InputError(issueMessages(r.error.issues).join('; '), where);
  // the task's data-seed defaults written out, so the recorded config says which data a run used
  const cfg = { ...r.data, task: withDataDefaults(r.data.task) as TrialConfig['task'] };
  if (cfg.mode === 'ptq' && (!cfg.ptq || (cfg.ptq.bits === undefined && cfg.ptq.actBits === undefined))) {
    throw new InputError('mode ptq needs ptq.bits (weight bits after training) and/or ptq.actBits (integer-only activation bits)', where ? `${where}: ptq` : 'ptq');
  }
  if (cfg.ptq?.ioBits !== undefined && cfg.ptq.bits === undefined) throw new InputError('ioBits is for weight-only PTQ and needs ptq.bits', where ? `${where}: ptq.ioBits` : 'ptq.ioBits');
  const integerOnly = ['weightBits', 'statistic', 'calibrationBatches'] as const;
  for (const k of integerOnly) {
    if (cfg.ptq?.[k] !== undefined && cfg.ptq.actBits === undefined) throw new InputError(`${k} is an integer-only PTQ setting and needs ptq.actBits`, where ? `${where}: ptq.${k}` : `ptq.${k}`);
  }
  if (cfg.mode !== 'ptq' && cfg.ptq) throw new InputError(`ptq settings given but mode is '${cfg.mode}' (set mode: ptq)`, where ? `${where}: mode` : 'mode');
  return cfg;
}

/** The model part alone (the same messages, paths start at `model`). */
export function parseModelConfig(obj: unknown, where?: string): ModelConfig {
  const r = modelConfigSchema.safeParse(obj);
  if (!r.success) throw new InputError(issueMessages(r.error.issues, ['model']).join('; '), where);
  return r.data as ModelConfig;
}
