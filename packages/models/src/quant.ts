/**
 * The quantizers the models use, all from `@orthoquant/quantizers` (papers.md's shared
 * quantizer: symmetric, per tensor, α = max|w|, identity STE):
 * - `quantizeSte(x, k)`: k-bit uniform quantization with the identity STE (QAT);
 * - `quantizeValues(data, k, shape)`: the same on a typed array, bit-identical (PTQ, export).
 */
import type { tf } from '@orthoquant/runtime';
import { quantizeUniform, quantizeUniformArray } from '@orthoquant/quantizers';

export function quantizeSte<R extends tf.Rank>(x: tf.Tensor<R>, bits: number): tf.Tensor<R> {
  return quantizeUniform(x, { bits }) as tf.Tensor<R>;
}

export function quantizeValues(data: Float32Array, bits: number): Float32Array {
  return quantizeUniformArray(data, { bits });
}
