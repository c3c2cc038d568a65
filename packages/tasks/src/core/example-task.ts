/**
 * What every example-based task (copy, MNIST family, IMDB, GLUE) does the same way: split
 * sizes checked by split name, batch counts, epochs drawn by `exampleEpoch`, and the checks at
 * the top of `batch`. A task says how many examples a split has (`splitSize`) and builds a
 * batch; messages name the task (`copy.batch(train): …`).
 */
import type { Rng } from '@orthoquant/runtime';
import { checkIndices, checkSplit, exampleBatchCount, exampleEpoch } from './task.js';
import type { Baseline, Batch, EpochOptions, ExampleTask, InputKind, LossKind, MetricDefinition, OutputMode, Split, TaskDescription, TaskName } from './task.js';

export abstract class ExampleTaskBase implements ExampleTask {
  abstract readonly name: TaskName;
  abstract readonly T: number;
  abstract readonly inputKind: InputKind;
  abstract readonly inputDim: number;
  abstract readonly vocabSize: number | null;
  abstract readonly numClasses: number;
  abstract readonly outputDim: number;
  abstract readonly outputMode: OutputMode;
  abstract readonly loss: LossKind;
  abstract readonly metrics: readonly MetricDefinition[];
  readonly consecutiveBatches = false;

  /** Examples in a split (the split name is already checked). */
  protected abstract splitSize(split: Split): number;

  abstract batch(split: Split, indices: ArrayLike<number>): Batch;
  abstract memorylessBaseline(): Baseline | null;
  abstract describe(): TaskDescription;

  numExamples(split: Split): number {
    checkSplit(split, `${this.name}.numExamples`);
    return this.splitSize(split);
  }

  numBatches(split: Split, batchSize: number, opts?: EpochOptions): number {
    return exampleBatchCount(this.numExamples(split), batchSize, opts);
  }

  epochBatches(split: Split, batchSize: number, rng?: Rng, opts?: EpochOptions): IterableIterator<Batch> {
    return exampleEpoch(this, split, batchSize, rng, opts);
  }

  /** The checks at the top of `batch`: a known split, and indices inside it. */
  protected checkBatch(split: Split, indices: ArrayLike<number>): void {
    checkSplit(split, `${this.name}.batch`);
    checkIndices(indices, this.splitSize(split), `${this.name}.batch(${split})`);
  }
}
