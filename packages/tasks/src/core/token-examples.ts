/**
 * Token-sequence classification data (IMDB, GLUE): examples stored unpadded one after the
 * other, batched into time-major padded id matrices, the prior-only baseline, and the task
 * class both share.
 */
import { ExampleTaskBase } from './example-task.js';
import type { Baseline, Split, TokenBatch } from './task.js';

/** Every example of a split, unpadded. */
export interface TokenExamples {
  /** Ids of every example, one after the other (not padded). */
  flat: Int32Array;
  /** Start of example i in `flat`; offsets[n] = flat.length. */
  offsets: Int32Array;
  labels: Int32Array;
}

/**
 * The examples `indices` as a time-major `[T, B]` id batch: each example written at the end
 * (`pre` padding, Keras's default) or the start (`post`) of its column, the rest `pad`.
 */
export function tokenBatch(s: TokenExamples, split: Split, indices: ArrayLike<number>, T: number, padding: 'pre' | 'post', pad = 0): TokenBatch {
  const B = indices.length;
  const tokens = new Int32Array(T * B);
  if (pad !== 0) tokens.fill(pad);
  const targets = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const i = indices[b];
    const start = s.offsets[i];
    const len = s.offsets[i + 1] - start;
    const t0 = padding === 'pre' ? T - len : 0;
    for (let k = 0; k < len; k++) tokens[(t0 + k) * B + b] = s.flat[start + k];
    targets[b] = s.labels[i];
  }
  return { split, inputKind: 'tokens', T, B, tokens, targets, indices: Int32Array.from(indices), resetState: true };
}

/** Entropy (nats) of 0/1 label frequencies: the loss of predicting the prior whatever the input. */
export function binaryLabelEntropy(labels: ArrayLike<number>): number {
  let pos = 0;
  for (let i = 0; i < labels.length; i++) pos += labels[i];
  const p = pos / labels.length;
  return p <= 0 || p >= 1 ? 0 : -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
}

/**
 * Binary classification of token sequences read at the last step (IMDB, GLUE): one logit,
 * sigmoid cross-entropy, batches of ids padded to `T`. A task fills `splits` and says what
 * an example is for the baseline's description.
 */
export abstract class TokenClassificationTask extends ExampleTaskBase {
  readonly inputKind = 'tokens' as const;
  readonly inputDim = 1;
  readonly numClasses = 2;
  readonly outputDim = 1;
  readonly outputMode = 'last' as const;
  readonly loss = 'sigmoid-cross-entropy' as const;
  abstract override readonly vocabSize: number;
  abstract readonly padding: 'pre' | 'post';
  protected abstract readonly splits: Record<Split, TokenExamples>;
  /** What one example is, for the baseline's description (`review`, `sentence`). */
  protected abstract readonly exampleNoun: string;

  /** The id written in padded places. */
  protected padId(): number {
    return 0;
  }

  protected splitSize(split: Split): number {
    return this.splits[split].labels.length;
  }

  batch(split: Split, indices: ArrayLike<number>): TokenBatch {
    this.checkBatch(split, indices);
    return tokenBatch(this.splits[split], split, indices, this.T, this.padding, this.padId());
  }

  /** Ids of one example, padded (for inspection and tests). */
  example(split: Split, index: number): { ids: Int32Array; label: number } {
    const b = this.batch(split, [index]);
    return { ids: b.tokens, label: b.targets[0] };
  }

  memorylessBaseline(): Baseline {
    return { loss: binaryLabelEntropy(this.splits.train.labels), description: `entropy (nats) of the training-split label frequencies: the loss of predicting the prior whatever the ${this.exampleNoun}` };
  }
}
