/**
 * From a trained `@orthoquant/models` model to the plain typed-array float model that PTQ
 * starts from: the weights as the forward pass uses them (`effectiveWeights()`: W
 * materialised and quantized, U/V on their QAT grid), the QAT bit widths (`quantization()`),
 * and HadamRNN's signs.
 */
import { InputError } from '@orthoquant/runtime';
import type { NamedWeights, RecurrentModel } from '@orthoquant/models';
import type { FloatModel, RecurrentActivation, WeightBits } from './model.js';

function weight(w: NamedWeights, name: string, shape: number[], who: string): Float32Array {
  const t = w[name];
  if (!t) throw new InputError(`the model has no weight '${name}'`, who);
  if (t.shape.join(',') !== shape.join(',')) throw new InputError(`weight '${name}': expected shape [${shape.join(', ')}], got [${t.shape.join(', ')}]`, who);
  return Float32Array.from(t.data);
}

/** Convert a trained ORNN / QORNN / HadamRNN / Block-HadamRNN / LSTM for the integer pipeline. */
export function fromRecurrentModel(model: RecurrentModel): FloatModel {
  const cfg = model.config;
  const who = `model (${cfg.type})`;
  const n = model.hidden;
  const O = model.io.outputSize;
  const w = model.effectiveWeights();
  const vocabSize = model.io.vocabSize;
  // Token tasks: what enters the input projection is an embedding row of width embeddingDim.
  const D = vocabSize === undefined ? model.io.inputSize : (w.embedding?.shape[1] ?? 0);
  const common = {
    n,
    inputSize: D,
    outputSize: O,
    readout: model.readout,
    V: weight(w, 'V', [n, O], who),
    c: weight(w, 'c', [O], who),
    ...(vocabSize === undefined ? {} : { vocabSize, embedding: weight(w, 'embedding', [vocabSize, D], who) }),
  };
  if (cfg.type === 'lstm') {
    // Li & Alvarez quantize every LSTM weight to int8 (QAT weights of other widths are re-quantized).
    return { kind: 'lstm', ...common, Wx: weight(w, 'Wx', [D, 4 * n], who), Wh: weight(w, 'Wh', [n, 4 * n], who), b: weight(w, 'b', [4 * n], who) };
  }
  if (cfg.type !== 'ornn' && cfg.type !== 'qornn' && cfg.type !== 'hadamrnn') {
    throw new InputError(`expected ornn, qornn, hadamrnn or lstm; ${cfg.type} has no integer engine`, who);
  }
  if (cfg.activation !== 'linear' && cfg.activation !== 'relu') {
    throw new InputError(`activation '${cfg.activation}' has no integer engine (expected linear or relu)`, `${who}.activation`);
  }
  const activation: RecurrentActivation = cfg.activation;
  const q = model.quantization();
  const bitsOf = (name: string) => (q[name]?.kind === 'uniform' ? q[name].bits : null);
  const bits: WeightBits = { W: bitsOf('W'), U: bitsOf('U'), V: bitsOf('V') };
  const U = weight(w, 'U', [D, n], who);
  const b = weight(w, 'b', [n], who);
  const readoutActivation = cfg.readoutActivation;
  if (q.W?.kind === 'sign') {
    const signs = model.diagnostics().signs;
    if (!signs) throw new InputError('a sign-valued W without signs in diagnostics()', who);
    const blockSize = ('blockSize' in cfg ? cfg.blockSize : undefined) ?? n;
    return { kind: 'hadamrnn', ...common, activation, readoutActivation, signs: Int8Array.from(signs), blockSize, U, b, bits };
  }
  return { kind: 'ornn', ...common, activation, readoutActivation, W: weight(w, 'W', [n, n], who), U, b, bits };
}
