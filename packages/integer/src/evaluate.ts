/**
 * Evaluation of integer and float-reference models on a task split: the task's own metrics
 * (`MetricAccumulator`: mean cross-entropy in nats on dequantized logits, arg-max accuracy…)
 * and the engine's throughput.
 */
import { performance } from 'node:perf_hooks';
import { createRng, InputError } from '@orthoquant/runtime';
import { isExampleTask, MetricAccumulator } from '@orthoquant/tasks';
import type { Batch, MetricValues, Split, Task } from '@orthoquant/tasks';
import { floatForward } from './float/reference.js';
import type { FloatState } from './float/reference.js';
import type { IntegerState } from './engines/common.js';
import { dequantizeLogits, embedTokens, quantizeInputs } from './engines/common.js';
import type { IntegerOutput } from './engines/common.js';
import { initialState, runInteger, runIntegerTokens } from './engines/run.js';
import type { FloatModel, IntegerModel } from './model.js';
import { calibrate } from './ptq/calibrate.js';
import type { Calibration, DenseInputs } from './ptq/calibrate.js';
import { exportInteger } from './ptq/export.js';
import type { PtqOptions } from './ptq/export.js';

export interface EvaluateOptions {
  /** Sequences per batch (default 100). */
  batchSize?: number;
  /** Evaluate at most this many sequences (default: the whole split). */
  limit?: number;
}

/**
 * Another integer engine (e.g. the compiled C model, `runCompiled`): time-major input codes
 * `[T, B, inputSize]`, or token ids `[T, B]` for models with an embedding; every sequence from
 * the zero state.
 */
export type IntegerEngine = (inputs: Int32Array, T: number, B: number) => IntegerOutput;

export interface EvaluationResult {
  /** The task's loss metric (nats per target). */
  loss: number;
  /** Arg-max accuracy (sigmoid tasks: logit > 0). */
  accuracy: number;
  /** Every metric of the task (copyAccuracy, bpc, …). */
  metrics: MetricValues;
  sequences: number;
  /** Time spent in the model's forward pass only (not in batch preparation). */
  seconds: number;
  sequencesPerSecond: number;
}

/** Evaluate an integer model (integer engine, dequantized logits for the loss). */
export function evaluateInteger(model: IntegerModel, task: Task, split: Split, options: EvaluateOptions & { engine?: IntegerEngine } = {}): EvaluationResult {
  let state: IntegerState | undefined;
  const engine = options.engine;
  if (engine && task.consecutiveBatches) throw new InputError(`${task.name} carries the state from batch to batch; this engine starts every sequence from the zero state`, 'engine');
  return evaluateWith(model, task, split, options, (b) => {
    if (engine) return dequantizeLogits(engine(b.inputKind === 'tokens' ? b.tokens : quantizeInputs(model, b.inputs, b.T, b.B), b.T, b.B));
    // Stream tasks (PTB) carry the state from window to window, reset at the epoch start.
    if (task.consecutiveBatches && (b.resetState || !state || state.h.length !== b.B * model.n)) state = initialState(model, b.B);
    const opts = task.consecutiveBatches ? { state } : {};
    const out = b.inputKind === 'tokens' ? runIntegerTokens(model, b.tokens, b.T, b.B, opts) : runInteger(model, b.inputs, b.T, b.B, opts);
    return dequantizeLogits(out);
  });
}

/** Evaluate the float reference of a model (typed arrays, Float64 arithmetic). */
export function evaluateFloat(model: FloatModel, task: Task, split: Split, options: EvaluateOptions = {}): EvaluationResult {
  let state: FloatState | undefined;
  return evaluateWith(model, task, split, options, (b) => {
    if (task.consecutiveBatches && (b.resetState || !state || state.h.length !== b.B * model.n)) {
      state = { h: new Float64Array(b.B * model.n), ...(model.kind === 'lstm' ? { c: new Float64Array(b.B * model.n) } : {}) };
    }
    return floatForward(model, floatInputs(model, b), b.T, b.B, {}, task.consecutiveBatches ? state : undefined);
  });
}

/** Dense float inputs of a batch (token ids go through the model's embedding). */
function floatInputs(model: FloatModel, b: Batch): Float32Array {
  if (b.inputKind === 'dense') return b.inputs;
  if (!model.embedding || model.vocabSize === undefined) throw new InputError('token inputs need a model with an embedding', 'model');
  return embedTokens(model.embedding, model.vocabSize, b.tokens);
}

function evaluateWith(model: FloatModel | IntegerModel, task: Task, split: Split, options: EvaluateOptions, forward: (b: Batch) => Float32Array): EvaluationResult {
  checkCompatible(model, task);
  const acc = new MetricAccumulator(task);
  let seconds = 0;
  let sequences = 0;
  for (const batch of taskBatches(task, split, options)) {
    const t0 = performance.now();
    const logits = forward(batch);
    seconds += (performance.now() - t0) / 1000;
    acc.add(batch, logits);
    sequences += batch.B;
  }
  const metrics = acc.result();
  return { loss: metrics.loss ?? NaN, accuracy: metrics.accuracy ?? NaN, metrics, sequences, seconds, sequencesPerSecond: sequences / Math.max(seconds, 1e-9) };
}

/** Batches of a split in order, at most `limit` sequences (example tasks cut exactly). */
export function* taskBatches(task: Task, split: Split, options: EvaluateOptions & { seed?: number | string } = {}): IterableIterator<Batch> {
  const batchSize = options.batchSize ?? 100;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(`expected an integer ≥ 1, got ${batchSize}`, 'evaluate.batchSize');
  const limit = options.limit ?? Infinity;
  if (!(limit >= 1)) throw new InputError(`expected a number of sequences ≥ 1, got ${limit}`, 'evaluate.limit');
  const total = Math.min(limit, task.numExamples(split));
  if (isExampleTask(task) && split !== 'train') {
    for (let start = 0; start < total; start += batchSize) {
      const idx = Int32Array.from({ length: Math.min(batchSize, total - start) }, (_, i) => start + i);
      yield task.batch(split, idx);
    }
    return;
  }
  let seen = 0;
  const rng = createRng(options.seed ?? 'integer/evaluate');
  for (const batch of task.epochBatches(split, batchSize, rng)) {
    if (seen >= total) break;
    yield batch;
    seen += batch.B;
  }
}

function checkCompatible(model: FloatModel | IntegerModel, task: Task): void {
  const where = `task ${task.name}`;
  if (task.inputKind === 'tokens') {
    if (model.vocabSize === undefined) throw new InputError(`${task.name} has token inputs; the model has no embedding`, where);
    if (task.vocabSize !== model.vocabSize) throw new InputError(`the model's vocabulary has ${model.vocabSize} tokens, the task's ${task.vocabSize}`, where);
  } else if (task.inputDim !== model.inputSize) throw new InputError(`the model expects ${model.inputSize} input features, the task gives ${task.inputDim}`, where);
  if (task.outputDim !== model.outputSize) throw new InputError(`the model has ${model.outputSize} outputs, the task needs ${task.outputDim}`, where);
  if (task.outputMode !== model.readout) throw new InputError(`the model reads out '${model.readout}', the task scores '${task.outputMode}'`, where);
}

export interface TaskPtqOptions extends PtqOptions {
  /** Calibration batches drawn from the training split (default 10). */
  calibrationBatches?: number;
  /** Sequences per calibration batch (default 100). */
  batchSize?: number;
  /** Seed of the calibration batch order (default 0). */
  seed?: number | string;
}

/**
 * Calibrate on the task's training split and export the integer model (QORNN's PTQ).
 * Calibration windows start from a zero state (stream tasks included).
 */
export function quantizeForTask(model: FloatModel, task: Task, options: TaskPtqOptions): { model: IntegerModel; calibration: Calibration } {
  checkCompatible(model, task);
  const batches = options.calibrationBatches ?? 10;
  const rng = createRng(options.seed ?? 0).fork('integer/calibration');
  function* source(): IterableIterator<DenseInputs> {
    for (const b of task.epochBatches('train', options.batchSize ?? 100, rng)) yield { inputs: floatInputs(model, b), T: b.T, B: b.B };
  }
  const calibration = calibrate(model, source(), { limit: batches });
  return { model: exportInteger(model, calibration, options), calibration };
}
