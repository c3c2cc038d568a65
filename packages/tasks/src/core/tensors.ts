/** Batches as tfjs tensors (the caller disposes them). */
import { tf } from '@orthoquant/runtime';
import type { Batch } from './task.js';

export interface BatchTensors {
  /** Dense: float32 [T, B, inputDim] (or int32 hot indices [T, B], `hotIndices`); tokens: int32 [T, B]. */
  x: tf.Tensor;
  /** int32 [T, B] (many-to-many) or [B] (last). */
  y: tf.Tensor;
}

/**
 * `hotIndices`: a dense batch of one-hot rows (`batch.hot`) becomes int32 hot indices [T, B]
 * instead of float32 [T, B, inputDim] (for models with `oneHotIndices`).
 */
export function batchToTensors(batch: Batch, inputDim: number, opts: { hotIndices?: boolean } = {}): BatchTensors {
  const { T, B } = batch;
  const x =
    batch.inputKind === 'tokens' ? tf.tensor2d(batch.tokens, [T, B], 'int32')
    : opts.hotIndices && batch.hot ? tf.tensor2d(batch.hot, [T, B], 'int32')
    : tf.tensor3d(batch.inputs, [T, B, inputDim], 'float32');
  const y = batch.targets.length === T * B && T > 1 ? tf.tensor2d(batch.targets, [T, B], 'int32') : tf.tensor1d(batch.targets, 'int32');
  return { x, y };
}
