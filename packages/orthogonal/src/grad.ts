/** Typed wrapper over `tf.customGrad` (its function type is not exported by tfjs). */
import { tf } from '@orthoquant/runtime';

export type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/**
 * An op with a hand-written gradient: `f(...inputs, save)` returns the value and the
 * function mapping dy (and the saved tensors) to one gradient per input.
 */
export function withGradient(f: (...args: never[]) => { value: tf.Tensor; gradFunc: GradFunc }): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]);
}
