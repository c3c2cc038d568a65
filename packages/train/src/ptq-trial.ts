/**
 * One trial including its `ptq:` block: `runTrial` of this package, then — for `mode: ptq` with
 * `ptq.actBits` — the integer-only stage of `@orthoquant/integer` (`runTrialWithPtq`). The sweep's
 * default runner module (`@orthoquant/sweep/ptq-runner`) only adapts this to its runner contract,
 * so PTQ / integer-only results land in the store next to the float and QAT ones.
 *
 * The integer stage rebuilds the trained model from the final checkpoint (train always writes
 * one when given a folder), calibrates activation ranges on the training split, exports the
 * integer model, writes it as `model-a<actBits>.oqint` next to the checkpoints (reported as a
 * `model` artifact), and evaluates the integer engine and its float reference (Float64 typed
 * arrays, the same weights before integer rounding) on val and test. Summary keys:
 * `int_{val,test}_<metric>` (loss, accuracy, every task metric), `float_ref_{val,test}_<metric>`,
 * `int_{val,test}_sequences`, `int_act_bits`, `int_weight_bits`, `int_seq_per_s`, `float_seq_per_s` (test split, forward
 * pass only), `int_file_bytes`. They are also emitted as one final step event (the metrics table).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '@orthoquant/runtime';
import { createModel } from '@orthoquant/models';
import type { ModelConfig, RecurrentModel } from '@orthoquant/models';
import { createTask, resolveTrialSeeds } from '@orthoquant/tasks';
import type { ConfigRecord, Split, Task } from '@orthoquant/tasks';
import { evaluateFloat, evaluateInteger, fromRecurrentModel, quantizeForTask, writeIntegerModel } from '@orthoquant/integer';
import type { EvaluationResult, FloatModel, IntegerModel, PtqSettings } from '@orthoquant/integer';
import { runTrial, modelIO } from './run-trial.js';
import type { Metrics, RunTrialOptions, TrainEvent } from './run-trial.js';
import { parseTrialConfig } from './config.js';
import type { TrialConfig } from './config.js';
import { loadTrainedModel } from './trained-model.js';

/** The events of a trial with an integer stage: train's, plus the integer model file it wrote. */
export type PtqTrialEvent = TrainEvent | { type: 'artifact'; kind: 'model'; path: string; step?: number };

export interface PtqTrialOptions extends Omit<RunTrialOptions, 'onEvent'> {
  onEvent?: (event: PtqTrialEvent) => void;
}

/** A trial to check before a sweep starts, and how to name it in the error. */
export interface PreflightTrial {
  config: unknown;
  label: string;
}

/**
 * The sweep's preflight (`@orthoquant/sweep`'s `preflight.ts`): every trial's config parses, its task can be
 * created (dataset files found and readable) and its model built on that task's input and
 * output sizes. Each distinct task and model is checked once.
 */
export async function preflight(trials: PreflightTrial[], opts: { dataDir?: string } = {}): Promise<{ message: string; label: string }[]> {
  const problems: { message: string; label: string }[] = [];
  const tasks = new Map<string, ReturnType<typeof modelIO> | Error>();
  const models = new Map<string, Error | null>();
  let backend = false;
  for (const t of trials) {
    let cfg: TrialConfig;
    try {
      cfg = parseTrialConfig(t.config);
    } catch (e) {
      problems.push({ message: (e as Error).message, label: t.label });
      continue;
    }
    const taskKey = JSON.stringify(cfg.task);
    let io = tasks.get(taskKey);
    if (io === undefined) {
      try {
        io = modelIO(createTask(cfg.task as ConfigRecord, { trialSeed: cfg.seed, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) }));
      } catch (e) {
        io = e as Error;
      }
      tasks.set(taskKey, io);
    }
    if (io instanceof Error) {
      problems.push({ message: `task '${cfg.task.name}': ${io.message}`, label: t.label });
      continue;
    }
    const modelKey = JSON.stringify([cfg.model, io]);
    let err = models.get(modelKey);
    if (err === undefined) {
      if (!backend) {
        await initBackend();
        backend = true;
      }
      try {
        createModel(cfg.model as ModelConfig, io, cfg.seed).dispose();
        err = null;
      } catch (e) {
        err = e as Error;
      }
      models.set(modelKey, err);
    }
    if (err) problems.push({ message: `model '${cfg.model.type}' on task '${cfg.task.name}': ${err.message}`, label: t.label });
  }
  return problems;
}

export interface IntegerStageOptions {
  /** actBits, weightBits, statistic, calibrationBatches (`parsePtqSettings` of `@orthoquant/integer`). */
  settings: PtqSettings;
  /** Splits to evaluate (default val and test); splits without examples are skipped. */
  splits?: Split[];
  /** Evaluate at most this many sequences per split (default all). */
  limit?: number;
  /** Sequences per evaluation and calibration batch (default 100). */
  batchSize?: number;
  /** Write the integer model file here. */
  out?: string;
  /** Extra provenance for the file's metadata (the task config, model config and settings are always there). */
  metadata?: Record<string, unknown>;
}

export interface IntegerStageResult {
  integer: IntegerModel;
  float: FloatModel;
  /** Integer engine and float reference, per evaluated split. */
  results: { split: Split; integer: EvaluationResult; float: EvaluationResult }[];
  /** The summary keys (see the module comment); finite values only. */
  metrics: Record<string, number>;
  file?: string;
}

/** The statistic as the file metadata and the tables show it. */
function statisticText(s: PtqSettings['statistic']): string {
  return s === undefined || s === 'max' ? 'max' : `p${s.percentile}`;
}

/**
 * Calibrate a trained model on its task's training split, export the integer model, evaluate
 * it and its float reference, optionally write the `.oqint` file (with the task config in its
 * metadata, so `orthoquant eval` needs no other input).
 */
export function integerStage(config: TrialConfig, task: Task, model: RecurrentModel, options: IntegerStageOptions): IntegerStageResult {
  const { settings } = options;
  const float = fromRecurrentModel(model);
  const batchSize = options.batchSize ?? 100;
  const { model: integer } = quantizeForTask(float, task, {
    actBits: settings.actBits,
    ...(settings.weightBits !== undefined ? { weightBits: settings.weightBits } : {}),
    ...(settings.statistic !== undefined ? { statistic: settings.statistic } : {}),
    ...(settings.calibrationBatches !== undefined ? { calibrationBatches: settings.calibrationBatches } : {}),
    batchSize,
    seed: config.seed,
  });
  const metrics: Record<string, number> = { int_act_bits: integer.actBits };
  if (settings.weightBits !== undefined) metrics.int_weight_bits = settings.weightBits;
  const results: IntegerStageResult['results'] = [];
  const evalOpts = { batchSize, ...(options.limit !== undefined ? { limit: options.limit } : {}) };
  for (const split of options.splits ?? (['val', 'test'] as Split[])) {
    if (task.numExamples(split) < 1) continue;
    const i = evaluateInteger(integer, task, split, evalOpts);
    const f = evaluateFloat(float, task, split, evalOpts);
    results.push({ split, integer: i, float: f });
    for (const [prefix, r] of [[`int_${split}_`, i], [`float_ref_${split}_`, f]] as const) {
      for (const [k, v] of Object.entries({ ...r.metrics, loss: r.loss, accuracy: r.accuracy })) if (typeof v === 'number' && Number.isFinite(v)) metrics[`${prefix}${k}`] = v;
    }
    metrics[`int_${split}_sequences`] = i.sequences;
    if (split === 'test') {
      metrics.int_seq_per_s = i.sequencesPerSecond;
      metrics.float_seq_per_s = f.sequencesPerSecond;
    }
  }
  const out: IntegerStageResult = { integer, float, results, metrics };
  if (options.out) {
    const test = results.find((r) => r.split === 'test');
    writeIntegerModel(options.out, integer, {
      producer: 'orthoquant',
      task: resolveTrialSeeds(config.task as ConfigRecord, config.seed),
      model: config.model,
      seed: config.seed,
      ptq: { actBits: integer.actBits, weightBits: settings.weightBits ?? 8, statistic: statisticText(settings.statistic), calibrationBatches: settings.calibrationBatches ?? 10 },
      ...(test ? { evaluation: { split: 'test', sequences: test.integer.sequences, integerLoss: test.integer.loss, floatLoss: test.float.loss } } : {}),
      ...options.metadata,
    });
    out.file = options.out;
    metrics.int_file_bytes = statSync(options.out).size;
  }
  return out;
}

/** The integer settings of a parsed trial config (undefined when it asks for none). */
export function integerSettings(config: TrialConfig): PtqSettings | undefined {
  const p = config.ptq;
  if (config.mode !== 'ptq' || p?.actBits === undefined) return undefined;
  return {
    actBits: p.actBits,
    ...(p.weightBits !== undefined ? { weightBits: p.weightBits } : {}),
    ...(p.statistic !== undefined ? { statistic: p.statistic } : {}),
    ...(p.calibrationBatches !== undefined ? { calibrationBatches: p.calibrationBatches } : {}),
  };
}

/** Train, then the integer stage when the config asks for it (`mode: ptq` with `ptq.actBits`). */
export async function runTrialWithPtq(config: unknown, opts: PtqTrialOptions = {}): Promise<Metrics> {
  const cfg = parseTrialConfig(config, opts.where);
  const emit = (e: PtqTrialEvent): void => opts.onEvent?.(e);
  const summary = await runTrial(cfg, { ...opts, onEvent: (e: TrainEvent) => emit(e) });
  const settings = integerSettings(cfg);
  if (!settings) return summary;
  opts.signal?.throwIfAborted();
  const what = `integer-only PTQ (actBits ${settings.actBits})`;
  if (!opts.checkpointDir) throw new Error(`${what}: needs a checkpoint folder (the trained weights are read from it)`);
  let metrics: Record<string, number>;
  let file: string | undefined;
  try {
    const task = createTask(cfg.task as ConfigRecord, { trialSeed: cfg.seed, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) });
    const { model, path, step } = loadTrainedModel(cfg, task, opts.checkpointDir);
    try {
      if (step !== summary.steps) throw new Error(`the latest checkpoint ${path} is at step ${step}, training ended at step ${summary.steps}`);
      const evalBatchSize = cfg.evalBatchSize ?? cfg.batchSize;
      const r = integerStage(cfg, task, model, {
        settings,
        batchSize: evalBatchSize,
        ...(cfg.budget.evalBatches !== undefined ? { limit: cfg.budget.evalBatches * evalBatchSize } : {}),
        out: join(opts.checkpointDir, `model-a${settings.actBits}.oqint`),
        metadata: { checkpoint: path, step },
      });
      metrics = r.metrics;
      file = r.file;
    } finally {
      model.dispose();
    }
  } catch (e) {
    throw new Error(`${what} failed: ${(e as Error).message}`, { cause: e });
  }
  const step = summary.steps;
  emit({ type: 'step', step, metrics });
  if (file) emit({ type: 'artifact', kind: 'model', path: file, step });
  const test = metrics.int_test_loss;
  emit({ type: 'log', level: 'info', msg: `${what}: int_test_loss=${test?.toPrecision(4)} float test_loss=${summary.test_loss?.toPrecision(4)}, ${metrics.int_seq_per_s?.toFixed(0)} seq/s integer vs ${metrics.float_seq_per_s?.toFixed(0)} float` });
  return { ...summary, ...metrics };
}
