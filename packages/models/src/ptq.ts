/**
 * Post-training quantization of the weights (the QORNN paper's PTQ baseline): train in
 * float, then quantize the weights as the forward pass uses them, and evaluate that copy.
 *
 * - ORNN / QORNN: W (materialised from its parameterization) to `bits`, U and V to
 *   `ioBits` (default `bits`), biases float → a frozen dense RNN (`FrozenRnn`).
 * - HadamRNN: W is already binary; U and V to `ioBits ?? bits`.
 * - LSTM / FastRNN / FastGRNN: every weight matrix to `bits`.
 * Quantizer: papers.md's symmetric per-tensor k-bit uniform quantizer, α = max|w|.
 * Activations stay float (their PTQ belongs to the integer engine).
 */
import { tf } from '@orthoquant/runtime';
import { denseScan } from '@orthoquant/kernels';
import { BaseModel, lastStep, matrixDiagnostics, namedFromTensor } from './base.js';
import { FastRnn, Lstm } from './baselines.js';
import { HadamRnn } from './hadamrnn.js';
import { Ornn } from './ornn.js';
import { quantizeValues } from './quant.js';
import type { ModelDiagnostics, ModelState, NamedWeights, OrnnConfig, QornnConfig, QuantizationInfo, RecurrentModel } from './types.js';
import { createRng } from '@orthoquant/runtime';

export interface PtqConfig {
  /** Bits of W (and of every other weight matrix unless `ioBits`). */
  bits: number;
  /** Bits of U and V (default `bits`). */
  ioBits?: number;
}

/** A dense RNN with fixed (already quantized) weights, for evaluating a PTQ copy. */
export class FrozenRnn extends BaseModel {
  declare readonly config: OrnnConfig | QornnConfig;

  constructor(
    source: Ornn,
    weights: NamedWeights,
    private readonly ptq: PtqConfig,
  ) {
    super(source.config, source.io);
    for (const [name, w] of Object.entries(weights)) this.addVariable(name, w.shape, w.data);
  }

  protected run(x: tf.Tensor, state: ModelState | null | undefined, wantState: boolean): { logits: tf.Tensor; state: ModelState } {
    return tf.tidy(() => {
      const Z = this.projectInputs(x, this.v('U') as tf.Tensor2D, this.v('b') as tf.Tensor1D);
      const act = this.config.activation;
      const H = denseScan(Z, this.v('W') as tf.Tensor2D, state?.[0] ?? null, {
        activation: act,
        ...(act === 'modrelu' ? { modreluBias: this.v('modreluBias') as tf.Tensor1D } : {}),
      });
      const logits = this.readoutLogits(H, this.v('V') as tf.Tensor2D, this.v('c') as tf.Tensor1D, this.config.readoutActivation);
      return { logits, state: wantState ? [lastStep(H)] : [] };
    });
  }

  quantization(): QuantizationInfo {
    const io = this.ptq.ioBits ?? this.ptq.bits;
    return {
      W: { bits: this.ptq.bits, kind: 'uniform' },
      U: { bits: io, kind: 'uniform' },
      V: { bits: io, kind: 'uniform' },
      b: { bits: null, kind: 'float' },
      c: { bits: null, kind: 'float' },
    };
  }

  diagnostics(): ModelDiagnostics {
    return matrixDiagnostics(this.v('W').dataSync() as Float32Array, this.hidden);
  }

  protected storedBits(): Record<string, { bits: number; overhead: number } | null> {
    const io = this.ptq.ioBits ?? this.ptq.bits;
    return { W: { bits: this.ptq.bits, overhead: 32 }, U: { bits: io, overhead: 32 }, V: { bits: io, overhead: 32 } };
  }

  effectiveWeights(): NamedWeights {
    const out: NamedWeights = {};
    for (const name of this.vars.keys()) out[name] = namedFromTensor(this.v(name));
    return out;
  }
}

function q(w: { shape: number[]; data: Float32Array }, bits: number) {
  return { shape: w.shape, data: quantizeValues(w.data, bits) };
}

/**
 * A quantized copy of a trained model for evaluation (the source is left unchanged; dispose
 * the copy when done).
 */
export function quantizeWeightsPostTraining(model: RecurrentModel, cfg: PtqConfig): RecurrentModel {
  const io = cfg.ioBits ?? cfg.bits;
  if (model instanceof Ornn) {
    const eff = model.effectiveWeights();
    const weights: NamedWeights = { ...eff, W: q(eff.W, cfg.bits), U: q(eff.U, io), V: q(eff.V, io) };
    return new FrozenRnn(model, weights, cfg);
  }
  if (model instanceof HadamRnn) {
    const copy = new HadamRnn({ ...model.config, bits: io }, model.io, createRng(0));
    copy.setWeights(model.getWeights());
    return copy;
  }
  if (model instanceof Lstm || model instanceof FastRnn) {
    const Ctor = model instanceof Lstm ? Lstm : FastRnn;
    const copy = new Ctor({ ...model.config, bits: cfg.bits }, model.io, createRng(0));
    copy.setWeights(model.getWeights());
    return copy;
  }
  if (model instanceof FrozenRnn) {
    throw new Error('quantizeWeightsPostTraining: the model is already a post-training-quantized copy');
  }
  throw new Error(`quantizeWeightsPostTraining: unsupported model type '${model.config.type}'`);
}
