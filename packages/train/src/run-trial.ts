/**
 * `runTrial(config, options)`: one training run, start to summary. The sweep runner calls
 * exactly this; it records the events (the trainer knows nothing of storage).
 *
 * Loop: for each epoch e (lr·γᵉ), batches of the train split in the order of
 * `createRng(seed).fork('data').fork(e)`; per step: forward over the whole batch, loss,
 * gradients of every trainable variable, NaN/Inf check, clipping by global norm, the optimizer
 * on the `other` group (lr) and the `orthogonal` group (orthLr), managed (projUNN) steps,
 * `model.afterStep()`; HadamRNN: `step_sign_flips`, the entries of sign(u) the step changed
 * (the reference's TRACK_FLIPS). Per epoch: val and test metrics, diagnostics (‖WᵀW − I‖_max,
 * zeros, sign flips of u since the last epoch, `sv_min`/`sv_max` of the W the forward pass
 * uses), checkpoint. After training in `ptq` mode: the quantized copy is
 * evaluated as well.
 *
 * Reproducibility: the data order depends only on (seed, epoch), the init on the seed, and
 * a checkpoint holds weights, optimizer slots, step, epoch, batch position, carried
 * recurrent state and the running epoch sums; a resumed run computes the same losses, bit
 * for bit, as an uninterrupted one.
 */
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { tf, initBackend, createRng } from '@orthoquant/runtime';
import type { Logger } from '@orthoquant/runtime';
import { createModel, quantizeWeightsPostTraining, singularValueRange } from '@orthoquant/models';
import type { ModelConfig, ModelIO, RecurrentModel } from '@orthoquant/models';
import { createTask, MetricAccumulator, batchToTensors } from '@orthoquant/tasks';
import type { Batch, ConfigRecord, Split, Task } from '@orthoquant/tasks';
import { parseTrialConfig } from './config.js';
import type { TrialConfig } from './config.js';
import { Optimizer, globalNorm } from './optimizers.js';
import { fusedLoss, lossTensor } from './loss.js';
import { checkpointFileName, readCheckpoint, resolveCheckpoint, writeCheckpoint } from './checkpoint.js';
import type { TensorRecord } from './checkpoint.js';

export type Metrics = Record<string, number>;

/** Errors of parameterizations/kernels that met non-finite values. */
const NON_FINITE = /non-finite|diverged|NaN|Infinity/;

export type TrainEvent =
  | { type: 'step'; step: number; metrics: Metrics }
  | { type: 'epoch'; epoch: number; metrics: Metrics }
  | { type: 'checkpoint'; path: string; step: number }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string };

export interface ProgressUpdate {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  /** Seconds left at the recent pace (null before the first timed step). */
  etaSeconds: number | null;
  stepsPerSecond: number;
}

/** What the CLI renders as a progress bar. */
export interface ProgressReporter {
  start?(info: { totalSteps: number; startStep: number }): void;
  update(p: ProgressUpdate): void;
  stop?(): void;
}

export interface RunTrialOptions {
  onEvent?: (event: TrainEvent) => void;
  signal?: AbortSignal;
  /** Where checkpoints go (`step-000000123.ckpt`); none are written without it. */
  checkpointDir?: string;
  /** A checkpoint file, or a directory (its latest checkpoint). */
  resumeFrom?: string;
  logger?: Logger;
  progress?: ProgressReporter;
  /** Dataset folder for `createTask` (else `ORTHOQUANT_DATA_DIR`). */
  dataDir?: string;
  /** Prefix of config error messages (a file, a sweep trial). */
  where?: string;
  /**
   * Called after each evaluation batch: evaluation runs synchronously (minutes for 20k pMNIST
   * sequences on a CPU), so a host that must show it is alive (a sweep worker's lease
   * heartbeat) does it here.
   */
  keepAlive?: () => void;
}

/** The run stopped before its budget: non-finite values, or an abort. */
export class TrialStoppedError extends Error {
  constructor(
    message: string,
    readonly reason: 'non-finite' | 'aborted',
    readonly step: number,
    readonly epoch: number,
    readonly metrics: Metrics,
  ) {
    super(message);
    this.name = 'TrialStoppedError';
  }
}

/**
 * Floats of hidden states an evaluation forward may hold at once (T·B·n): 2^25 = 128 MB.
 * The scan returns every hidden state, so an eval batch of 1,000 pMNIST sequences at n = 512
 * (T = 784) would hold 1.6 GB and exhaust the wasm heap; the batch is cut into sub-batches
 * whose logits are joined. The result is the same as one forward (each sequence is
 * independent when no state is carried).
 */
export const EVAL_STATE_FLOATS = 2 ** 25;

export function forwardInChunks(model: RecurrentModel, x: tf.Tensor, maxFloats = EVAL_STATE_FLOATS): tf.Tensor {
  const T = x.shape[0]!;
  const B = x.shape[1]!;
  const chunk = Math.max(1, Math.floor(maxFloats / Math.max(1, T * model.hidden)));
  if (chunk >= B) return model.forward(x);
  return tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    for (let b0 = 0; b0 < B; b0 += chunk) {
      const size = Math.min(chunk, B - b0);
      const xs = x.rank === 3 ? tf.slice(x, [0, b0, 0], [T, size, x.shape[2]!]) : tf.slice(x, [0, b0], [T, size]);
      parts.push(model.forward(xs));
    }
    // Logits are [B, out] (last-step readout) or [T, B, out] (every step).
    return tf.concat(parts, parts[0].rank === 2 ? 0 : 1);
  });
}

/** The model's view of a task. */
export function modelIO(task: Task): ModelIO {
  return { inputSize: task.inputDim, outputSize: task.outputDim, ...(task.vocabSize !== null ? { vocabSize: task.vocabSize } : {}), readout: task.outputMode };
}

export async function runTrial(config: unknown, options: RunTrialOptions = {}): Promise<Metrics> {
  const cfg = parseTrialConfig(config, options.where);
  await initBackend();
  const task = createTask(cfg.task as ConfigRecord, { trialSeed: cfg.seed, ...(options.dataDir ? { dataDir: options.dataDir } : {}) });
  const model = createModel(cfg.model as ModelConfig, modelIO(task), cfg.seed);
  const trainer = new Trainer(cfg, task, model, options);
  try {
    return await trainer.run();
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

export interface StepTiming {
  /** Wall time of each timed training iteration (forward, backward, update), seconds. */
  seconds: number[];
  medianSeconds: number;
  /** Peak resident set size of the process so far (`process.resourceUsage().maxRSS`), bytes. */
  peakRssBytes: number;
}

/**
 * Time full training iterations of a trial config on its first train batch (after
 * `warmup` untimed ones): what `npm run bench` and the closing notes report.
 */
export async function timeTrainingSteps(config: unknown, opts: { steps?: number; warmup?: number; dataDir?: string } = {}): Promise<StepTiming> {
  const cfg = parseTrialConfig(config);
  await initBackend();
  const task = createTask(cfg.task as ConfigRecord, { trialSeed: cfg.seed, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) });
  const model = createModel(cfg.model as ModelConfig, modelIO(task), cfg.seed);
  const trainer = new Trainer(cfg, task, model, {});
  try {
    const batch = task.epochBatches('train', cfg.batchSize, createRng(cfg.seed).fork('data').fork(0)).next().value as Batch;
    for (let i = 0; i < (opts.warmup ?? 1); i++) await trainer.trainStep(batch);
    const seconds: number[] = [];
    for (let i = 0; i < (opts.steps ?? 3); i++) {
      const t0 = performance.now();
      await trainer.trainStep(batch);
      seconds.push((performance.now() - t0) / 1000);
    }
    const sorted = [...seconds].sort((a, b) => a - b);
    return { seconds, medianSeconds: sorted[Math.floor(sorted.length / 2)], peakRssBytes: process.resourceUsage().maxRSS * 1024 };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

interface CheckpointMeta {
  configKey: string;
  step: number;
  epoch: number;
  batchInEpoch: number;
  epochLossSum: number;
  epochLossCount: number;
  prevSigns: number[] | null;
  best: Metrics | null;
  last: Metrics | null;
  elapsedSeconds: number;
  stateCount: number;
}

/** The part of the config a checkpoint must agree with (the budget may change on resume). */
function configKey(cfg: TrialConfig): string {
  const { budget: _budget, ...rest } = cfg;
  return JSON.stringify(rest);
}

/** Variable names without the per-instance prefix (`ornn#3/U` → `U`). */
function stableName(v: tf.Variable): string {
  return v.name.replace(/^[^/]*\//, '');
}

function prefixed(prefix: string, m: Partial<Record<string, number>>): Metrics {
  const out: Metrics = {};
  for (const [k, v] of Object.entries(m)) if (v !== undefined) out[`${prefix}${k}`] = v;
  return out;
}

class Trainer {
  private readonly optOther: Optimizer;
  private readonly optOrth: Optimizer;
  private readonly vars: tf.Variable[];
  private readonly nOther: number;
  private readonly nOrth: number;
  private readonly stepsPerEpoch: number;
  private readonly totalSteps: number;
  private step = 0;
  private epoch = 0;
  private batchInEpoch = 0;
  private epochLossSum = 0;
  private epochLossCount = 0;
  private prevSigns: Int8Array | null = null;
  /** Signs of u after the previous step (HadamRNN), for the per-step flip count. */
  private stepSigns: Int8Array | null = null;
  private best: Metrics | null = null;
  private last: Metrics | null = null;
  private state: tf.Tensor2D[] | null = null;
  private elapsedBefore = 0;
  private startTime = performance.now();
  private pace: number | null = null;
  /** The step of the last checkpoint written or restored (-1: none). */
  private savedStep = -1;

  constructor(
    private readonly cfg: TrialConfig,
    private readonly task: Task,
    private readonly model: RecurrentModel,
    private readonly options: RunTrialOptions,
  ) {
    const groups = model.trainableVariables();
    const o = cfg.optimizer;
    const settings = { name: o.name, betas: o.betas as [number, number], eps: o.eps, alpha: o.alpha, momentum: o.momentum };
    const named = (vs: tf.Variable[]) => vs.map((variable) => ({ name: stableName(variable), variable }));
    this.optOther = new Optimizer(settings, named(groups.other), o.lr);
    this.optOrth = new Optimizer(settings, named(groups.orthogonal), o.orthLr ?? o.lr);
    this.nOther = groups.other.length;
    this.nOrth = groups.orthogonal.length;
    this.vars = [...groups.other, ...groups.orthogonal, ...groups.managed.map((m) => m.variable)];
    this.stepsPerEpoch = task.numBatches('train', cfg.batchSize);
    if (this.stepsPerEpoch < 1) throw new Error(`${task.name}: the train split has no batch of size ${cfg.batchSize}`);
    const budgetSteps = cfg.budget.epochs * this.stepsPerEpoch;
    this.totalSteps = Math.min(budgetSteps, cfg.budget.steps ?? budgetSteps);
  }

  private emit(event: TrainEvent): void {
    this.options.onEvent?.(event);
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void {
    this.options.logger?.[level](msg);
    this.emit({ type: 'log', level, msg });
  }

  private lrScale(epoch: number): number {
    return Math.pow(this.cfg.schedule.gamma, epoch);
  }

  private setLearningRates(): void {
    const s = this.lrScale(this.epoch);
    this.optOther.lr = this.cfg.optimizer.lr * s;
    this.optOrth.lr = (this.cfg.optimizer.orthLr ?? this.cfg.optimizer.lr) * s;
  }

  private seconds(): number {
    return this.elapsedBefore + (performance.now() - this.startTime) / 1000;
  }

  async run(): Promise<Metrics> {
    if (this.options.resumeFrom) this.restore(resolveCheckpoint(this.options.resumeFrom));
    else this.prevSigns = this.model.diagnostics().signs ?? null;
    this.stepSigns = this.model.signs?.() ?? null;
    const { budget } = this.cfg;
    this.log('info', `training ${this.cfg.model.type} on ${this.task.name}: ${this.totalSteps} steps (${this.stepsPerEpoch} per epoch)${this.step ? `, resuming at step ${this.step}` : ''}`);
    this.options.progress?.start?.({ totalSteps: this.totalSteps, startStep: this.step });
    try {
      while (this.epoch < budget.epochs && this.step < this.totalSteps) {
        this.setLearningRates();
        const batches = this.task.epochBatches('train', this.cfg.batchSize, createRng(this.cfg.seed).fork('data').fork(this.epoch));
        for (let k = 0; k < this.batchInEpoch; k++) if (batches.next().done) break;
        let finished = true;
        for (const batch of batches) {
          if (this.step >= this.totalSteps) {
            finished = false;
            break;
          }
          if (this.options.signal?.aborted) await this.abort();
          await this.trainStep(batch);
          await new Promise<void>((r) => setImmediate(r));
        }
        if (!finished && this.batchInEpoch < this.stepsPerEpoch) {
          this.endEpoch(true);
          break;
        }
        this.endEpoch(false);
      }
      if (this.last === null) this.endEpoch(true);
      // The final weights are always on disk (a budget that ends mid-epoch saves no epoch-end checkpoint).
      if (this.options.checkpointDir && this.savedStep !== this.step) this.saveCheckpoint();
      return this.summary();
    } finally {
      this.options.progress?.stop?.();
    }
  }

  private async abort(): Promise<never> {
    const reason = this.options.signal?.reason;
    const msg = `training aborted at step ${this.step} (epoch ${this.epoch})${reason instanceof Error ? `: ${reason.message}` : reason ? `: ${String(reason)}` : ''}`;
    if (this.options.checkpointDir) this.saveCheckpoint();
    this.log('warn', msg);
    throw new TrialStoppedError(msg, 'aborted', this.step, this.epoch, this.last ?? {});
  }

  private stopNonFinite(what: string, value: number | string, updated = false): never {
    const detail = typeof value === 'number' ? `is ${value} (non-finite)` : `failed: ${value}`;
    const msg = `training stopped at step ${this.step + 1} (epoch ${this.epoch}): ${what} ${detail}${updated ? '' : '; no update was applied'}`;
    this.log('error', msg);
    throw new TrialStoppedError(msg, 'non-finite', this.step + 1, this.epoch, this.last ?? {});
  }

  /** One optimizer step on a batch (public for `timeTrainingSteps`). */
  async trainStep(batch: Batch): Promise<void> {
    const t0 = performance.now();
    const carry = this.task.consecutiveBatches;
    if (carry && batch.resetState) this.disposeState();
    // One-hot inputs as their hot indices where the model takes them (no T·B·inputDim floats).
    const { x, y } = batchToTensors(batch, this.task.inputDim, { hotIndices: this.model.oneHotIndices === true });
    let next: tf.Tensor2D[] | null = null;
    let result: { value: tf.Scalar; grads: tf.NamedTensorMap };
    try {
      result = tf.variableGrads(() => {
        if (this.task.loss === 'softmax-cross-entropy' && fusedLoss()) {
          // Readout and loss as one op where the model offers it (many-to-many softmax CE).
          const f = this.model.trainingLoss?.(x, y, carry ? this.state : null, carry);
          if (f) {
            if (carry) next = f.state.map((s) => tf.keep(s));
            return f.loss;
          }
        }
        if (!carry) return lossTensor(this.model.forward(x), y, this.task.loss);
        const r = this.model.forwardWithState(x, this.state);
        next = r.state.map((s) => tf.keep(s));
        return lossTensor(r.logits, y, this.task.loss);
      }, this.vars);
    } catch (err) {
      tf.dispose([x, y]);
      if (next) tf.dispose(next);
      // A parameterization that meets non-finite weights (e.g. Björck diverging) says so.
      if (err instanceof Error && NON_FINITE.test(err.message)) this.stopNonFinite('the forward pass', err.message);
      throw err;
    }
    const { value, grads } = result;
    const toDispose: tf.Tensor[] = [x, y, value, ...Object.values(grads)];
    try {
      const loss = value.dataSync()[0];
      let list = this.vars.map((v) => {
        const g = grads[v.name];
        if (!g) throw new Error(`no gradient reaches '${stableName(v)}' (is it used by the forward pass?)`);
        return g;
      });
      const norm = globalNorm(list);
      if (!Number.isFinite(loss)) this.stopNonFinite('the training loss', loss);
      if (!Number.isFinite(norm)) this.stopNonFinite('the gradient norm', norm);
      const clip = this.cfg.optimizer.clipNorm;
      if (clip !== undefined && norm > clip) {
        const scale = clip / (norm + 1e-6);
        list = list.map((g) => tf.mul(g, scale));
        toDispose.push(...list);
      }
      this.optOther.apply(list.slice(0, this.nOther));
      this.optOrth.apply(list.slice(this.nOther, this.nOther + this.nOrth));
      const managed = this.model.trainableVariables().managed;
      managed.forEach((m, i) => m.step(list[this.nOther + this.nOrth + i] as tf.Tensor2D, this.optOrth.lr));
      try {
        this.model.afterStep?.();
      } catch (err) {
        if (err instanceof Error && NON_FINITE.test(err.message)) this.stopNonFinite('the projection after the update', err.message, true);
        throw err;
      }
      if (carry) {
        this.disposeState();
        this.state = next;
        next = null;
      }
      this.step++;
      this.batchInEpoch++;
      this.epochLossSum += loss;
      this.epochLossCount++;
      const dt = (performance.now() - t0) / 1000;
      this.pace = this.pace === null ? dt : 0.9 * this.pace + 0.1 * dt;
      const metrics: Metrics = { loss, grad_norm: norm, lr: this.optOther.lr, step_seconds: dt };
      const signs = this.model.signs?.();
      if (signs) {
        if (this.stepSigns) metrics.step_sign_flips = countFlips(signs, this.stepSigns);
        this.stepSigns = signs;
      }
      const { evalEvery, checkpointEvery } = this.cfg.budget;
      if (evalEvery && this.step % evalEvery === 0) Object.assign(metrics, prefixed('val_', this.evaluate(this.model, 'val')));
      this.emit({ type: 'step', step: this.step, metrics });
      this.options.progress?.update({
        step: this.step,
        totalSteps: this.totalSteps,
        epoch: this.epoch,
        loss,
        etaSeconds: this.pace === null ? null : this.pace * (this.totalSteps - this.step),
        stepsPerSecond: this.pace ? 1 / this.pace : 0,
      });
      if (checkpointEvery && this.options.checkpointDir && this.step % checkpointEvery === 0) this.saveCheckpoint();
    } finally {
      if (next) tf.dispose(next);
      tf.dispose(toDispose);
    }
  }

  /** Metrics of a split (val/test), carrying state across consecutive batches. */
  private evaluate(model: RecurrentModel, split: Split): Partial<Record<string, number>> {
    const acc = new MetricAccumulator(this.task);
    const size = this.cfg.evalBatchSize ?? this.cfg.batchSize;
    const limit = this.cfg.budget.evalBatches ?? Infinity;
    const carry = this.task.consecutiveBatches;
    let state: tf.Tensor2D[] | null = null;
    let k = 0;
    try {
      for (const batch of this.task.epochBatches(split, size)) {
        if (k++ >= limit) break;
        if (carry && batch.resetState && state) {
          tf.dispose(state);
          state = null;
        }
        const logits = tf.tidy(() => {
          const { x } = batchToTensors(batch, this.task.inputDim);
          if (!carry) return forwardInChunks(model, x);
          const r = model.forwardWithState(x, state);
          if (state) tf.dispose(state);
          state = r.state.map((s) => tf.keep(s));
          return r.logits;
        });
        acc.add(batch, logits.dataSync());
        logits.dispose();
        this.options.keepAlive?.();
      }
    } finally {
      if (state) tf.dispose(state);
    }
    return acc.result();
  }

  private endEpoch(partial: boolean): void {
    const t0 = performance.now();
    const val = this.evaluate(this.model, 'val');
    const test = this.evaluate(this.model, 'test');
    const diag = this.model.diagnostics();
    const metrics: Metrics = {
      train_loss: this.epochLossCount ? this.epochLossSum / this.epochLossCount : NaN,
      lr: this.optOther.lr,
      steps: this.step,
      ...prefixed('val_', val),
      ...prefixed('test_', test),
    };
    if (diag.orthogonalityError !== undefined) metrics.orthogonality_error = diag.orthogonalityError;
    if (diag.zeroFraction !== undefined) metrics.zero_fraction = diag.zeroFraction;
    if (diag.signs) {
      if (this.prevSigns) metrics.sign_flips = countFlips(diag.signs, this.prevSigns);
      this.prevSigns = diag.signs;
    }
    const W = this.model.effectiveWeights().W;
    if (W && W.shape.length === 2 && W.shape[0] === W.shape[1]) {
      const sv = singularValueRange(W.data, W.shape[0]);
      metrics.sv_min = sv.min;
      metrics.sv_max = sv.max;
    }
    if (partial) metrics.partial_epoch = 1;
    metrics.eval_seconds = (performance.now() - t0) / 1000;
    if (!Number.isFinite(metrics.val_loss)) this.stopNonFinite('the validation loss', metrics.val_loss);
    this.last = metrics;
    if (this.best === null || metrics.val_loss < this.best.val_loss) this.best = { ...metrics, epoch: this.epoch };
    this.emit({ type: 'epoch', epoch: this.epoch, metrics });
    const show = Object.entries(metrics)
      .filter(([k]) => /^(train_loss|val_|test_)/.test(k))
      .map(([k, v]) => `${k}=${v.toPrecision(4)}`)
      .join(' ');
    this.log('info', `epoch ${this.epoch}${partial ? ' (partial)' : ''}: ${show}`);
    if (!partial) {
      this.epoch++;
      this.batchInEpoch = 0;
      this.epochLossSum = 0;
      this.epochLossCount = 0;
      if (this.options.checkpointDir) this.saveCheckpoint();
    }
  }

  private summary(): Metrics {
    const out: Metrics = { ...(this.last ?? {}) };
    delete out.eval_seconds;
    if (this.best) {
      for (const [k, v] of Object.entries(this.best)) if (/^(val_|test_)/.test(k)) out[`best_${k}`] = v;
      out.best_epoch = this.best.epoch;
    }
    const base = this.task.memorylessBaseline();
    if (base) {
      out.memoryless_loss = base.loss;
      if (base.bpc !== undefined) out.memoryless_bpc = base.bpc;
    }
    const size = this.model.sizeBits();
    Object.assign(out, { size_bits: size.totalBits, size_bytes: size.totalBytes, recurrent_bits: size.recurrentBits, params: size.parameterCount });
    const seconds = this.seconds();
    Object.assign(out, { steps: this.step, epochs: this.epoch, seconds, seconds_per_step: this.step ? seconds / this.step : 0 });
    if (this.cfg.mode === 'ptq' && this.cfg.ptq?.bits !== undefined) {
      const { bits, ioBits } = this.cfg.ptq;
      const q = quantizeWeightsPostTraining(this.model, { bits, ...(ioBits !== undefined ? { ioBits } : {}) });
      try {
        Object.assign(out, prefixed('ptq_val_', this.evaluate(q, 'val')), prefixed('ptq_test_', this.evaluate(q, 'test')));
        const s = q.sizeBits();
        Object.assign(out, { ptq_size_bits: s.totalBits, ptq_size_bytes: s.totalBytes, ptq_recurrent_bits: s.recurrentBits });
        const d = q.diagnostics();
        if (d.orthogonalityError !== undefined) out.ptq_orthogonality_error = d.orthogonalityError;
      } finally {
        q.dispose();
      }
    }
    return out;
  }

  // ---- checkpoints -------------------------------------------------------------------

  private saveCheckpoint(): void {
    const dir = this.options.checkpointDir;
    if (!dir) return;
    const tensors: Record<string, TensorRecord> = {};
    for (const [k, w] of Object.entries(this.model.getWeights())) tensors[`model/${k}`] = w;
    for (const [group, opt] of [['other', this.optOther], ['orth', this.optOrth]] as const) {
      for (const [k, s] of Object.entries(opt.getState().slots)) tensors[`opt/${group}/${k}`] = s;
    }
    (this.state ?? []).forEach((s, i) => (tensors[`state/${i}`] = { shape: [...s.shape], data: s.dataSync().slice() as Float32Array }));
    const meta: CheckpointMeta & { optSteps: [number, number] } = {
      configKey: configKey(this.cfg),
      step: this.step,
      epoch: this.epoch,
      batchInEpoch: this.batchInEpoch,
      epochLossSum: this.epochLossSum,
      epochLossCount: this.epochLossCount,
      prevSigns: this.prevSigns ? [...this.prevSigns] : null,
      best: this.best,
      last: this.last,
      elapsedSeconds: this.seconds(),
      stateCount: this.state?.length ?? 0,
      optSteps: [this.optOther.stepCount, this.optOrth.stepCount],
    };
    const path = join(dir, checkpointFileName(this.step));
    writeCheckpoint(path, { meta, tensors });
    this.savedStep = this.step;
    this.emit({ type: 'checkpoint', path, step: this.step });
  }

  private restore(path: string): void {
    const { meta, tensors } = readCheckpoint<CheckpointMeta & { optSteps: [number, number] }>(path);
    if (meta.configKey !== configKey(this.cfg)) {
      throw new Error(`resume: checkpoint ${path} belongs to a different config (only budget may change)`);
    }
    const pick = (prefix: string) => {
      const out: Record<string, TensorRecord> = {};
      for (const [k, v] of Object.entries(tensors)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
      return out;
    };
    this.model.setWeights(pick('model/'));
    this.optOther.setState({ step: meta.optSteps[0], slots: pick('opt/other/') });
    this.optOrth.setState({ step: meta.optSteps[1], slots: pick('opt/orth/') });
    this.disposeState();
    if (meta.stateCount > 0) {
      this.state = Array.from({ length: meta.stateCount }, (_, i) => {
        const s = tensors[`state/${i}`];
        return tf.tensor2d(s.data, s.shape as [number, number]);
      });
    }
    this.step = meta.step;
    this.savedStep = meta.step;
    this.epoch = meta.epoch;
    this.batchInEpoch = meta.batchInEpoch;
    this.epochLossSum = meta.epochLossSum;
    this.epochLossCount = meta.epochLossCount;
    this.prevSigns = meta.prevSigns ? Int8Array.from(meta.prevSigns) : null;
    this.best = meta.best;
    this.last = meta.last;
    this.elapsedBefore = meta.elapsedSeconds;
    this.startTime = performance.now();
    this.log('info', `resumed from ${path} at step ${this.step} (epoch ${this.epoch}, batch ${this.batchInEpoch})`);
  }

  private disposeState(): void {
    if (this.state) tf.dispose(this.state);
    this.state = null;
  }

  dispose(): void {
    this.disposeState();
    this.optOther.dispose();
    this.optOrth.dispose();
  }
}

/** Entries whose sign differs between two ±1 vectors. */
function countFlips(a: Int8Array, b: Int8Array): number {
  let flips = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) flips++;
  return flips;
}
