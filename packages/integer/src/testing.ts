/**
 * Test fixtures: small random float models and inputs (not part of the main entry).
 */
import { createRng } from '@orthoquant/runtime';
import type { Rng } from '@orthoquant/runtime';
import { randomOrthogonal } from '@orthoquant/orthogonal';
import type { FloatHadamRnn, FloatLstm, FloatOrnn, Readout, RecurrentActivation } from './model.js';

export interface RandomModelOptions {
  n?: number;
  inputSize?: number;
  outputSize?: number;
  readout?: Readout;
  activation?: RecurrentActivation;
  /** HadamRNN block size (default n). */
  blockSize?: number;
  seed?: number | string;
  /** Std of U entries (default 1/√inputSize). */
  inputStd?: number;
}

function dims(o: RandomModelOptions) {
  return { n: o.n ?? 16, inputSize: o.inputSize ?? 3, outputSize: o.outputSize ?? 4, readout: o.readout ?? 'many-to-many' };
}

/** What a random HadamRNN and ORNN share: sizes and activations. */
function recurrentHead(o: RandomModelOptions) {
  return { ...dims(o), activation: o.activation ?? 'linear', readoutActivation: 'relu' as const };
}

/** Float U, b, V, c of a random HadamRNN or ORNN, drawn from `rng` in that order. */
function floatInputOutput(rng: Rng, o: RandomModelOptions) {
  const { n, inputSize, outputSize } = dims(o);
  return {
    U: rng.normalArray(inputSize * n, o.inputStd ?? 1 / Math.sqrt(inputSize)),
    b: rng.normalArray(n, 0.1),
    V: rng.normalArray(n * outputSize, 1 / Math.sqrt(n)),
    c: rng.normalArray(outputSize, 0.1),
  };
}

/** A random HadamRNN with float U, b, V, c. */
export function randomHadamRnn(o: RandomModelOptions = {}): FloatHadamRnn {
  const { n } = dims(o);
  const rng = createRng(o.seed ?? 1);
  const signs = Int8Array.from({ length: n }, () => (rng.uniform() < 0.5 ? -1 : 1));
  return { kind: 'hadamrnn', ...recurrentHead(o), signs, blockSize: o.blockSize ?? n, ...floatInputOutput(rng, o) };
}

/** A random dense ORNN with an orthogonal W. */
export function randomOrnn(o: RandomModelOptions = {}): FloatOrnn {
  const rng = createRng(o.seed ?? 2);
  return { kind: 'ornn', ...recurrentHead(o), W: randomOrthogonal(dims(o).n, rng.fork('W').seed), ...floatInputOutput(rng, o) };
}

/** A random LSTM (forget bias 1). */
export function randomLstm(o: RandomModelOptions = {}): FloatLstm {
  const { n, inputSize, outputSize, readout } = dims(o);
  const rng = createRng(o.seed ?? 3);
  const b = rng.normalArray(4 * n, 0.1);
  for (let j = n; j < 2 * n; j++) b[j] += 1;
  return {
    kind: 'lstm',
    n,
    inputSize,
    outputSize,
    readout,
    Wx: rng.normalArray(inputSize * 4 * n, 1 / Math.sqrt(inputSize)),
    Wh: rng.normalArray(n * 4 * n, 1 / Math.sqrt(n)),
    b,
    V: rng.normalArray(n * outputSize, 1 / Math.sqrt(n)),
    c: rng.normalArray(outputSize, 0.1),
  };
}

/** Time-major random inputs `[T, B, inputSize]`, normal(0, std). */
export function randomInputs(T: number, B: number, inputSize: number, seed: number | string = 7, std = 1): Float32Array {
  return createRng(seed).normalArray(T * B * inputSize, std);
}

/** Inputs shaped like the task's: one-hot symbols (copy) or pixels in [0, 1], ~80 % zeros (MNIST). */
export function taskLikeInputs(T: number, B: number, D: number, seed: string): Float32Array {
  const rng = createRng(seed);
  const x = new Float32Array(T * B * D);
  for (let r = 0; r < T * B; r++) {
    if (D > 1) x[r * D + rng.int(D)] = 1;
    else x[r] = rng.uniform() < 0.8 ? 0 : rng.uniform();
  }
  return x;
}
