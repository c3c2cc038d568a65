/**
 * The one shape every task has: what goes in, what comes out, how batches are drawn, how
 * they are scored, and a record that reproduces the data exactly.
 *
 * Batches are time-major, ready for a fused scan over T steps:
 * - dense inputs `inputs[(t·B + b)·inputDim + d]` (Float32Array, length T·B·inputDim);
 * - token inputs `tokens[t·B + b]` (Int32Array, length T·B), ids in [0, vocabSize);
 * - targets `targets[t·B + b]` (many-to-many, length T·B) or `targets[b]` (last step, length B).
 * Every batch owns fresh arrays: a consumer may keep them (e.g. while a tensor upload runs).
 */
import type { Rng } from '@orthoquant/runtime';

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

export type TaskName = 'copy' | 'smnist' | 'pmnist' | 'fashion-mnist' | 'imdb' | 'ptb-char' | 'sst2' | 'qqp';
/** A prediction at every step, or one at the last step only. */
export type OutputMode = 'many-to-many' | 'last';
/** Float features per step, or integer ids for an embedding layer. */
export type InputKind = 'dense' | 'tokens';
/**
 * - `softmax-cross-entropy`: `outputDim = numClasses` logits, targets are class ids.
 * - `sigmoid-cross-entropy`: one logit (`outputDim = 1`), targets are 0/1.
 */
export type LossKind = 'softmax-cross-entropy' | 'sigmoid-cross-entropy';

/**
 * Per-step class ids or hot indices: Uint8Array where every value is below 256 (the copy task:
 * a quarter of the bytes of a T·B batch), else Int32Array. `batchToTensors` uploads either as int32.
 */
export type ClassIds = Int32Array | Uint8Array;

export interface BatchBase {
  split: Split;
  /** Time steps of this batch (PTB: the last window of an epoch may be shorter than `task.T`). */
  T: number;
  /** Rows (the last batch of an epoch may be smaller unless `dropLast`). */
  B: number;
  /** Class ids: [T·B] time-major (many-to-many) or [B] (last). */
  targets: ClassIds;
  /**
   * Example-based tasks: the example index (within the split) of each row, [B].
   * Stream tasks (PTB): the stream offset of each row's first input, [B].
   */
  indices: Int32Array;
  /** Stream tasks: true on the first window of an epoch (reset carried hidden state). */
  resetState: boolean;
}
export interface DenseBatch extends BatchBase {
  inputKind: 'dense';
  /**
   * [T·B·inputDim], time-major (t, b, d). With `hot`, built on first read (`oneHotBatch`): a
   * consumer that reads `hot` never allocates the T·B·inputDim floats.
   */
  inputs: Float32Array;
  /** One-hot inputs (copy task, PTB one-hot): the hot index of each row, [T·B] time-major. */
  hot?: ClassIds;
}

/** A dense batch of one-hot rows given by their hot indices; `inputs` is expanded on first read. */
export function oneHotBatch(base: BatchBase, hot: ClassIds, inputDim: number): DenseBatch {
  let inputs: Float32Array | null = null;
  return {
    ...base,
    inputKind: 'dense',
    hot,
    get inputs(): Float32Array {
      if (!inputs) {
        inputs = new Float32Array(hot.length * inputDim);
        for (let r = 0; r < hot.length; r++) inputs[r * inputDim + hot[r]] = 1;
      }
      return inputs;
    },
  };
}
export interface TokenBatch extends BatchBase {
  inputKind: 'tokens';
  /** [T·B], time-major (t, b). */
  tokens: Int32Array;
}
export type Batch = DenseBatch | TokenBatch;

export interface EpochOptions {
  /** Skip a last, smaller batch (default false). */
  dropLast?: boolean;
}

export type MetricName = 'loss' | 'accuracy' | 'bpc' | 'copyAccuracy' | 'f1';
export interface MetricDefinition {
  name: MetricName;
  /** What is averaged, over what, in which unit. */
  description: string;
  higherIsBetter: boolean;
  unit: 'nats' | 'bits' | 'fraction';
  /** Accuracy metrics restricted to the last `lastSteps` steps of each sequence (copy task). */
  lastSteps?: number;
}

/** The best loss without using the input history (a "solved" model is far below it). */
export interface Baseline {
  /** Mean loss per target in nats (the unit of the `loss` metric). */
  loss: number;
  /** The same in bits per character (PTB only). */
  bpc?: number;
  description: string;
}

/** JSON-serialisable. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** Everything needed to rebuild the exact data: resolved config, sizes, seeds, file checksums. */
export interface TaskDescription {
  name: TaskName;
  [key: string]: JsonValue;
}

export interface Task {
  readonly name: TaskName;
  /** Sequence length of a batch (PTB: the BPTT window). */
  readonly T: number;
  readonly inputKind: InputKind;
  /** Features per step (dense); 1 for token tasks. */
  readonly inputDim: number;
  /** Token ids lie in [0, vocabSize) (token tasks); null for dense tasks. */
  readonly vocabSize: number | null;
  /** Distinct target classes. */
  readonly numClasses: number;
  /** Model output units: numClasses (softmax) or 1 (sigmoid). */
  readonly outputDim: number;
  readonly outputMode: OutputMode;
  readonly loss: LossKind;
  /** The metrics this task reports; the first is the loss. */
  readonly metrics: readonly MetricDefinition[];
  /** True when batch i+1 continues batch i row by row (carry hidden state over; PTB). */
  readonly consecutiveBatches: boolean;
  /** Examples in a split (PTB: predicted characters). */
  numExamples(split: Split): number;
  numBatches(split: Split, batchSize: number, opts?: EpochOptions): number;
  /**
   * One pass over a split. Train batches come in an order drawn from `rng` (required for
   * 'train' on shuffled tasks); val/test are in a fixed order. Stream tasks ignore `rng`.
   */
  epochBatches(split: Split, batchSize: number, rng?: Rng, opts?: EpochOptions): IterableIterator<Batch>;
  /** The memoryless (input-ignoring) baseline loss, where it is meaningful. */
  memorylessBaseline(): Baseline | null;
  describe(): TaskDescription;
}

/** A task whose split is a list of independent examples (all but PTB). */
export interface ExampleTask extends Task {
  /** The batch holding these examples of a split, in this order. */
  batch(split: Split, indices: ArrayLike<number>): Batch;
}

export function isExampleTask(task: Task): task is ExampleTask {
  return typeof (task as Partial<ExampleTask>).batch === 'function';
}

export function checkBatchSize(batchSize: number, where: string): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`${where}: batchSize: expected an integer ≥ 1, got ${batchSize}`);
}

export function checkSplit(split: string, where: string): asserts split is Split {
  if (!(SPLITS as readonly string[]).includes(split)) throw new Error(`${where}: split: expected one of ${SPLITS.join(' | ')}, got '${split}'`);
}

/** Batches over an example-based split: shuffled by `rng` for train, in order otherwise. */
export function* exampleEpoch(task: ExampleTask, split: Split, batchSize: number, rng: Rng | undefined, opts: EpochOptions = {}): IterableIterator<Batch> {
  const where = `${task.name}.epochBatches`;
  checkSplit(split, where);
  checkBatchSize(batchSize, where);
  const n = task.numExamples(split);
  let order: Int32Array;
  if (split === 'train') {
    if (!rng) throw new Error(`${where}: the train split is shuffled each epoch: pass an Rng (e.g. createRng(seed).fork('epoch/3'))`);
    order = rng.permutation(n);
  } else {
    order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
  }
  const full = Math.floor(n / batchSize);
  const count = opts.dropLast || n % batchSize === 0 ? full : full + 1;
  for (let k = 0; k < count; k++) yield task.batch(split, order.subarray(k * batchSize, Math.min(n, (k + 1) * batchSize)));
}

export function exampleBatchCount(n: number, batchSize: number, opts: EpochOptions = {}): number {
  return opts.dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/** Check indices against a split's size; the message names the task and split. */
export function checkIndices(indices: ArrayLike<number>, n: number, where: string): void {
  if (indices.length === 0) throw new Error(`${where}: expected at least one example index, got none`);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    if (!Number.isInteger(k) || k < 0 || k >= n) throw new Error(`${where}: example index ${k} at position ${i} is outside [0, ${n})`);
  }
}

export const LOSS_METRIC: MetricDefinition = {
  name: 'loss',
  description: 'mean cross-entropy per target in nats (many-to-many: over every step of every sequence)',
  higherIsBetter: false,
  unit: 'nats',
};
export const ACCURACY_METRIC: MetricDefinition = {
  name: 'accuracy',
  description: 'fraction of targets whose arg-max prediction is right (sigmoid: logit > 0 ⇔ class 1)',
  higherIsBetter: true,
  unit: 'fraction',
};
