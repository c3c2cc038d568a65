/**
 * Token-sequence classification data (IMDB, GLUE): examples stored unpadded one after the
 * other, batched into time-major padded id matrices, and the prior-only baseline.
 */
import type { Split, TokenBatch } from './task.js';

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
