/** Batches as tfjs tensors (the caller disposes them). */
import { tf } from '@orthoquant/runtime';
import type { Batch } from './task.js';

export interface BatchTensors {
  /** Dense: float32 [T, B, inputDim]; tokens: int32 [T, B]. */
  x: tf.Tensor;
  /** int32 [T, B] (many-to-many) or [B] (last). */
  y: tf.Tensor;
}

export function batchToTensors(batch: Batch, inputDim: number): BatchTensors {
  const { T, B } = batch;
  const x = batch.inputKind === 'dense' ? tf.tensor3d(batch.inputs, [T, B, inputDim], 'float32') : tf.tensor2d(batch.tokens, [T, B], 'int32');
  const y = batch.targets.length === T * B && T > 1 ? tf.tensor2d(batch.targets, [T, B], 'int32') : tf.tensor1d(batch.targets, 'int32');
  return { x, y };
}
