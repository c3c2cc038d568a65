/**
 * Float32 HadamRNN inference in native code (@orthoquant/kernels, native/integer.cc), built like
 * the native integer engine (one row at a time, SIMD Walsh–Hadamard transform, vectorised
 * readout): the float side of the integer-vs-float speed comparison, with the same logits as
 * `floatForward` up to float32 rounding. Null when it cannot run (no addon, block sizes that are
 * not powers of two, embeddings): use `floatForward`.
 */
import { nativeInference } from '@orthoquant/kernels';
import type { FloatHadamRnn } from '../model.js';
import { checkInputs } from './reference.js';

export function floatForwardNative(model: FloatHadamRnn, inputs: Float32Array, T: number, B: number): Float32Array | null {
  const nat = nativeInference();
  const m = model.blockSize;
  if (!nat || !(m >= 1 && (m & (m - 1)) === 0) || model.n % m !== 0) return null;
  checkInputs(inputs, T, B, model.inputSize);
  const { n, outputSize: O } = model;
  const inv = 1 / Math.sqrt(m);
  const logits = new Float32Array((model.readout === 'last' ? 1 : T) * B * O);
  nat.floatHadamRnn({
    T, B, n, blockSize: m, inputSize: model.inputSize, outputSize: O, relu: model.activation === 'relu', readoutRelu: model.readoutActivation === 'relu',
    manyToMany: model.readout === 'many-to-many', x: inputs, U: model.U, b: model.b, scaledSigns: Float32Array.from(model.signs, (s) => s * inv),
    V: model.V, c: model.c, h: new Float32Array(B * n), logits,
  });
  return logits;
}
