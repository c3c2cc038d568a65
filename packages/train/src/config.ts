/**
 * The trial config: everything `runTrial` needs, validated with zod. Every error names the
 * key path, what was expected and what was given (`model.bits: expected an integer in
 * 1..16, got 0`). Defaults are filled in, so the parsed config is the complete record of a
 * run (the sweep hashes it).
 */
import { z } from 'zod';
import { InputError, int, issueMessages, num, oneOf, seedValue } from '@orthoquant/runtime';
import { modelConfigSchema } from '@orthoquant/models';
import { taskConfigSchema } from '@orthoquant/tasks';
import { integerPtqShape } from '@orthoquant/integer';

/** Bits of a quantized weight matrix. */
const bits = int(1, 16);

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
  seed: seedValue().default(0),
  /** Owned by `tasks`: checked by the task's schema, recorded as written (with its data-seed defaults). */
  task: taskConfigSchema,
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
      /** Integer-only PTQ (`@orthoquant/integer`): actBits, weightBits, statistic, calibrationBatches. */
      ...integerPtqShape,
    })
    .optional(),
});

export type TrialConfig = z.infer<typeof trialConfigSchema>;
/** What a user may write: every defaulted key optional. */
export type TrialConfigInput = z.input<typeof trialConfigSchema>;

/**
 * Validate a trial config and fill in defaults. Throws an `InputError` whose message lists
 * every problem, each with its key path; `where` (a file, a sweep trial) prefixes it.
 */
export function parseTrialConfig(obj: unknown, where?: string): TrialConfig {
  const r = trialConfigSchema.safeParse(obj);
  if (!r.success) throw new InputError(issueMessages(r.error.issues).join('; '), where);
  const cfg = r.data;
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
