/** Batches as tfjs tensors (the caller disposes them). */
import { tf } from '@orthoquant/runtime';
import type { Batch, ClassIds } from './task.js';

export interface BatchTensors {
  /** Dense: float32 [T, B, inputDim] (or int32 hot indices [T, B], `hotIndices`); tokens: int32 [T, B]. */
  x: tf.Tensor;
  /** int32 [T, B] (many-to-many) or [B] (last). */
  y: tf.Tensor;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'int32'): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Int32Array;
}

/**
 * An int32 tensor of class ids. Int32Array: uploaded as it is. Uint8Array: on wasm written
 * straight into the tensor's heap memory (no Int32Array of the batch's size is made on the JS
 * side); elsewhere widened to an Int32Array first.
 */
export function classIdTensor(ids: ClassIds, shape: number[]): tf.Tensor {
  if (ids instanceof Int32Array) return tf.tensor(ids, shape, 'int32');
  const backend = tf.backend() as unknown as Partial<WasmBackendLike>;
  if (tf.getBackend() === 'wasm' && typeof backend.makeOutput === 'function' && typeof backend.typedArrayFromHeap === 'function') {
    const info = backend.makeOutput(shape, 'int32');
    backend.typedArrayFromHeap(info).set(ids);
    return tf.engine().makeTensorFromTensorInfo(info);
  }
  return tf.tensor(Int32Array.from(ids), shape, 'int32');
}

/**
 * `hotIndices`: a dense batch of one-hot rows (`batch.hot`) becomes int32 hot indices [T, B]
 * instead of float32 [T, B, inputDim] (for models with `oneHotIndices`).
 */
export function batchToTensors(batch: Batch, inputDim: number, opts: { hotIndices?: boolean } = {}): BatchTensors {
  const { T, B } = batch;
  const x =
    batch.inputKind === 'tokens' ? tf.tensor2d(batch.tokens, [T, B], 'int32')
    : opts.hotIndices && batch.hot ? classIdTensor(batch.hot, [T, B])
    : tf.tensor3d(batch.inputs, [T, B, inputDim], 'float32');
  const y = classIdTensor(batch.targets, batch.targets.length === T * B && T > 1 ? [T, B] : [batch.targets.length]);
  return { x, y };
}
