/** One entry for every integer engine and its Float64 simulation. */
import { InputError } from '@orthoquant/runtime';
import type { IntegerModel } from '../model.js';
import { simulateHadamRnn } from '../simulate/hadamrnn.js';
import { simulateLstm } from '../simulate/lstm.js';
import { simulateOrnn } from '../simulate/ornn.js';
import type { SimulatedOutput } from '../simulate/common.js';
import { quantizeInputs, tokenInputCodes } from './common.js';
import type { IntegerOutput, IntegerState } from './common.js';
import { runHadamRnn } from './hadamrnn.js';
import type { EngineOptions } from './hadamrnn.js';
import { runLstm } from './lstm.js';
import { runOrnn } from './ornn.js';

/** Run an integer model on input codes (`quantizeInputs`), time-major `[T, B, inputSize]`. */
export function runIntegerCodes(model: IntegerModel, xq: Int32Array, T: number, B: number, options: EngineOptions = {}): IntegerOutput {
  if (!Number.isInteger(T) || T < 1 || !Number.isInteger(B) || B < 1 || xq.length !== T * B * model.inputSize) {
    throw new InputError(`expected T·B·inputSize = ${T}·${B}·${model.inputSize} = ${T * B * model.inputSize} input codes (time-major), got ${xq.length}`, 'inputs');
  }
  switch (model.kind) {
    case 'hadamrnn':
      return runHadamRnn(model, xq, T, B, options);
    case 'ornn':
      return runOrnn(model, xq, T, B, options.state);
    case 'lstm':
      return runLstm(model, xq, T, B, options.state);
  }
}

/** A zero state for B rows (h at the hidden zero point: real 0), to carry between batches. */
export function initialState(model: IntegerModel, B: number): IntegerState {
  const h = new Int32Array(B * model.n);
  if (model.kind === 'lstm') return { h: h.fill(model.stateZeroPoint), c: new Int32Array(B * model.n) };
  return model.kind === 'hadamrnn' ? { h, phase: 0 } : { h };
}

/**
 * Run an integer model on float inputs: quantize them at the boundary
 * (`x_q = clamp(round(x / inputScale) + zp)`), then integers only.
 */
export function runInteger(model: IntegerModel, inputs: Float32Array, T: number, B: number, options: EngineOptions = {}): IntegerOutput {
  return runIntegerCodes(model, quantizeInputs(model, inputs, T, B), T, B, options);
}

/** Run an integer model with an embedding on token ids `[T, B]` (time-major). */
export function runIntegerTokens(model: IntegerModel, tokens: Int32Array, T: number, B: number, options: EngineOptions = {}): IntegerOutput {
  if (tokens.length !== T * B) throw new InputError(`expected T·B = ${T}·${B} = ${T * B} token ids (time-major), got ${tokens.length}`, 'inputs');
  return runIntegerCodes(model, tokenInputCodes(model, tokens), T, B, options);
}

/** The Float64 simulation of `runIntegerCodes` (equal logits, bit for bit). */
export function simulateInteger(model: IntegerModel, xq: ArrayLike<number>, T: number, B: number): SimulatedOutput {
  switch (model.kind) {
    case 'hadamrnn':
      return simulateHadamRnn(model, xq, T, B);
    case 'ornn':
      return simulateOrnn(model, xq, T, B);
    case 'lstm':
      return simulateLstm(model, xq, T, B);
  }
}
