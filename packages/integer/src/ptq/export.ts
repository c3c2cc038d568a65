/**
 * Post-training quantization: a float (or QAT) model + activation statistics → an integer
 * model (integer weight codes and scales, input/state scales, int32 biases in accumulator
 * scales, fixed-point rescale multipliers). Floats are used here, at export time only.
 */
import { nextPowerOfTwo, roundHalfEven, toIntegerCodes } from '@orthoquant/quantizers';
import type { CalibrationStatistic } from '@orthoquant/quantizers';
import { InputError } from '@orthoquant/runtime';
import { hadamard, hadamardFactors } from '@orthoquant/orthogonal';
import { quantizeMultiplier, saturate, INT32_MAX, INT32_MIN } from '../fixed-point/fixed-point.js';
import type { FloatHadamRnn, FloatLstm, FloatModel, FloatOrnn, IntegerHadamRnn, IntegerLstm, IntegerModel, IntegerOrnn, QuantizedTensor } from '../model.js';
import type { Calibration } from './calibrate.js';
import { inputCodes } from '../engines/common.js';

/** The activation bit widths of QORNN's PTQ study (others in 2..16 are accepted). */
export const ACT_BITS = [6, 8, 10, 12, 16] as const;

export interface PtqOptions {
  /** Bits of the input and hidden-state codes (ORNN / HadamRNN; the LSTM is int8). */
  actBits: number;
  /** Bits of weights the model does not already carry QAT bits for (default 8). */
  weightBits?: number;
  /** Clipping statistic of |activation| before the power-of-two range (default 'max'). */
  statistic?: CalibrationStatistic;
}

/** Quantize a float model with calibrated activation ranges. */
export function exportInteger(model: FloatModel, calibration: Calibration, options: PtqOptions): IntegerModel {
  const actBits = options.actBits;
  if (!Number.isInteger(actBits) || actBits < 2 || actBits > 16) {
    throw new InputError(`expected an integer in 2..16 (QORNN uses ${ACT_BITS.join(', ')}), got ${String(actBits)}`, 'ptq.actBits');
  }
  const weightBits = options.weightBits ?? 8;
  if (!Number.isInteger(weightBits) || weightBits < 2 || weightBits > 16) throw new InputError(`expected an integer in 2..16, got ${String(weightBits)}`, 'ptq.weightBits');
  const out = exportKind(model, calibration, { ...options, weightBits });
  if (model.embedding) {
    const V = model.vocabSize;
    if (V === undefined || !Number.isInteger(V) || V < 1 || model.embedding.length !== V * model.inputSize) {
      throw new InputError(`expected vocabSize · inputSize = ${String(V)} · ${model.inputSize} values, got ${model.embedding.length}`, 'model.embedding');
    }
    // The embedding rows are the inputs: store them as input codes.
    const codes = inputCodes(out, model.embedding);
    out.vocabSize = V;
    out.embedding = out.actBits <= 8 ? Int8Array.from(codes) : Int16Array.from(codes);
  }
  return out;
}

function exportKind(model: FloatModel, calibration: Calibration, options: PtqOptions & { weightBits: number }): IntegerModel {
  switch (model.kind) {
    case 'hadamrnn':
      return exportHadamRnn(model, calibration, options);
    case 'ornn':
      return exportOrnn(model, calibration, options);
    case 'lstm':
      return exportLstm(model, calibration);
  }
}

/**
 * Integer codes of a weight tensor: symmetric, per tensor, b bits (papers.md's quantizer,
 * α = max|w|, Δ = α / 2^{b−1}). A tensor already on a b-bit grid (a QAT model's effective
 * weights, whose max code may be 2^{b−1} − 1) keeps its exact grid.
 */
export function quantizeWeight(values: Float32Array, shape: number[], bits: number, name: string): QuantizedTensor {
  let alpha = 0;
  for (let i = 0; i < values.length; i++) alpha = Math.max(alpha, Math.abs(values[i]));
  const qmax = 2 ** (bits - 1) - 1;
  let scale = alpha / 2 ** (bits - 1);
  const onGrid = (d: number) => d > 0 && values.every((v) => Math.abs(v / d - Math.round(v / d)) < 1e-3 && Math.abs(Math.round(v / d)) <= qmax + 1);
  if (alpha > 0 && !onGrid(scale) && onGrid(alpha / qmax)) scale = alpha / qmax;
  if (!Number.isFinite(scale)) throw new InputError(`non-finite weights`, `weights.${name}`);
  const ic = toIntegerCodes(values, { bits, scale });
  return { codes: ic.codes, shape, bits, scale: ic.scale, zeroPoint: 0 };
}

/** int32 codes of a bias in a given accumulator scale (round half to even, saturated). */
export function quantizeBias(values: Float32Array, scale: number): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = scale > 0 ? saturate(roundHalfEven(values[i] / scale), INT32_MIN, INT32_MAX) : 0;
  return out;
}

/** Power-of-two clipping range of a calibrated activation (1 when everything was 0). */
function powerOfTwoRange(stat: number): number {
  return stat > 0 ? nextPowerOfTwo(stat) : 1;
}

/**
 * Step of a symmetric b-bit activation grid: α / 2^{b−1} with α the smallest power of two
 * whose largest positive code (2^{b−1} − 1)·step still holds the statistic — so a calibrated
 * maximum of exactly 1 (one-hot inputs) is represented exactly rather than clipped.
 */
function symmetricActivation(cal: Calibration['input'], bits: number, statistic: CalibrationStatistic | undefined): number {
  const stat = cal.statistic(statistic ?? 'max');
  return powerOfTwoRange(stat / (1 - 2 ** (1 - bits))) / 2 ** (bits - 1);
}

/**
 * What the ORNN and HadamRNN exports share: the activation grids of x (`sx`) and h (`s`), U and
 * V at their QAT bits (else `weightBits`), the input accumulator scale, and the fields every
 * integer model of the two starts with (in the order the file writes them).
 */
function exportIoPart(model: FloatOrnn | FloatHadamRnn, cal: Calibration, o: PtqOptions & { weightBits: number }) {
  const { n } = model;
  const b = o.actBits;
  const sx = symmetricActivation(cal.input, b, o.statistic);
  const s = symmetricActivation(cal.hidden, b, o.statistic);
  const U = quantizeWeight(model.U, [model.inputSize, n], model.bits?.U ?? o.weightBits, 'U');
  const V = quantizeWeight(model.V, [n, model.outputSize], model.bits?.V ?? o.weightBits, 'V');
  const head = {
    n,
    inputSize: model.inputSize,
    outputSize: model.outputSize,
    readout: model.readout,
    actBits: b,
    inputScale: sx,
    inputZeroPoint: 0,
    activation: model.activation,
    readoutActivation: model.readoutActivation,
  };
  return { sx, s, U, V, inScale: U.scale * sx, head };
}

function exportHadamRnn(model: FloatHadamRnn, cal: Calibration, o: PtqOptions & { weightBits: number }): IntegerHadamRnn {
  const { n, blockSize: m } = model;
  const b = o.actBits;
  const k = Math.round(Math.log2(m));
  if (2 ** k !== m && n % m === 0 && hadamardFactors(m)) return exportKronHadamRnn(model, cal, o);
  if (2 ** k !== m || n % m !== 0) throw new InputError(`expected a Hadamard order p·2^k dividing n = ${n}, got ${m}`, 'model.blockSize');
  if (m * 2 ** (b - 1) > 2 ** 30) throw new InputError(`blockSize ${m} · 2^${b - 1} exceeds 2^30: the Walsh–Hadamard sums could overflow int32; use fewer activation bits`, 'ptq.actBits');
  const { s, U, V, inScale, head } = exportIoPart(model, cal, o);
  const r0 = Math.ceil(k / 2);
  const r1 = Math.floor(k / 2);
  const stateScales: [number, number] = [s, (s * 2 ** r0) / Math.sqrt(m)];
  const accScale = (p: 0 | 1) => stateScales[p] / Math.sqrt(m);
  return {
    kind: 'hadamrnn',
    ...head,
    signs: Int8Array.from(model.signs, (v) => (v < 0 ? -1 : 1)),
    blockSize: m,
    stateScales,
    stepShifts: [r0, r1],
    U,
    bInput: quantizeBias(model.b, inScale),
    inputRescale: [quantizeMultiplier(inScale / accScale(0), 'inputRescale[0]'), quantizeMultiplier(inScale / accScale(1), 'inputRescale[1]')],
    V,
    cLogit: [quantizeBias(model.c, V.scale * stateScales[0]), quantizeBias(model.c, V.scale * stateScales[1])],
  };
}

/**
 * Orders m = p·2^k that are not powers of two: one state grid s; the step computes
 * a = (I ⊗ H_p ⊗ H_q) q_{t−1}, then Σ_e ⌊a·2^{e−F+G}⌋ ≈ a·2^G/√m over the set bits e of
 * C = round(2^F/√m), F = 30 (relative error of C < 2^−25), and rounds away the G guard bits;
 * G ≤ 16 is the largest for which |a|·2^G/√m ≤ √m·2^{b−1+G} stays below 2^29.
 */
function exportKronHadamRnn(model: FloatHadamRnn, cal: Calibration, o: PtqOptions & { weightBits: number }): IntegerHadamRnn {
  const { n, blockSize: m } = model;
  const b = o.actBits;
  const { p } = hadamardFactors(m)!;
  const F = 30;
  const G = Math.min(16, 29 - Math.ceil(Math.log2(Math.sqrt(m))) - (b - 1));
  if (G < 4) throw new InputError(`blockSize ${m} with ${b}-bit states leaves ${G} guard bits within int32 (needs ≥ 4); use fewer activation bits`, 'ptq.actBits');
  const C = Math.round(2 ** F / Math.sqrt(m));
  const { s, U, V, inScale, head } = exportIoPart(model, cal, o);
  const accScale = s / 2 ** G;
  const rescale = quantizeMultiplier(inScale / accScale, 'inputRescale');
  const c = quantizeBias(model.c, V.scale * s);
  return {
    kind: 'hadamrnn',
    ...head,
    signs: Int8Array.from(model.signs, (v) => (v < 0 ? -1 : 1)),
    blockSize: m,
    hadamardOrder: p,
    hadamardP: hadamard(p),
    stepMultiplier: C,
    multiplierShift: F,
    stateScales: [s, s],
    stepShifts: [G, G],
    U,
    bInput: quantizeBias(model.b, inScale),
    inputRescale: [rescale, { ...rescale }],
    V,
    cLogit: [c, Int32Array.from(c)],
  };
}

function exportOrnn(model: FloatOrnn, cal: Calibration, o: PtqOptions & { weightBits: number }): IntegerOrnn {
  const n = model.n;
  const W = quantizeWeight(model.W, [n, n], model.bits?.W ?? o.weightBits, 'W');
  const { s, U, V, inScale, head } = exportIoPart(model, cal, o);
  const accScale = W.scale * s;
  return {
    kind: 'ornn',
    ...head,
    stateScale: s,
    W,
    U,
    bInput: quantizeBias(model.b, inScale),
    inputRescale: quantizeMultiplier(accScale > 0 ? inScale / accScale : 0, 'inputRescale'),
    stateRescale: quantizeMultiplier(W.scale, 'stateRescale'),
    V,
    cLogit: quantizeBias(model.c, V.scale * s),
  };
}

/** Q0.15 table of f over Q3.12 inputs: 513 points −8, −8 + 1/32, …, 8. */
export function activationTable(f: (x: number) => number): Int16Array {
  const t = new Int16Array(513);
  for (let i = 0; i <= 512; i++) t[i] = saturate(Math.round(f(-8 + i / 32) * 32768), -32768, 32767);
  return t;
}

function exportLstm(model: FloatLstm, cal: Calibration): IntegerLstm {
  const n = model.n;
  const x = cal.input.affineParams(8);
  const h = cal.hidden.affineParams(8);
  const cellRange = powerOfTwoRange(cal.cell!.maxAbs);
  const cellShift = 15 - Math.round(Math.log2(cellRange));
  if (cellShift < 0 || cellShift > 30) throw new InputError(`cell range ${cellRange} is outside 2^-15..2^15`, 'ptq.cell');
  const Wx = quantizeLstmWeight(model.Wx, [model.inputSize, 4 * n], 'Wx');
  const Wh = quantizeLstmWeight(model.Wh, [n, 4 * n], 'Wh');
  const V = quantizeLstmWeight(model.V, [n, model.outputSize], 'V');
  const q312 = 2 ** -12;
  return {
    kind: 'lstm',
    n,
    inputSize: model.inputSize,
    outputSize: model.outputSize,
    readout: model.readout,
    actBits: 8,
    inputScale: x.scale,
    inputZeroPoint: x.zeroPoint,
    stateScale: h.scale,
    stateZeroPoint: h.zeroPoint,
    cellShift,
    Wx,
    Wh,
    bInput: quantizeBias(model.b, Wx.scale * x.scale),
    inputRescale: quantizeMultiplier((Wx.scale * x.scale) / q312, 'inputRescale'),
    recurrentRescale: quantizeMultiplier((Wh.scale * h.scale) / q312, 'recurrentRescale'),
    hiddenRescale: quantizeMultiplier(2 ** -30 / h.scale, 'hiddenRescale'),
    sigmoidTable: activationTable((v) => 1 / (1 + Math.exp(-v))),
    tanhTable: activationTable(Math.tanh),
    V,
    cLogit: quantizeBias(model.c, V.scale * h.scale),
  };
}

/** Li & Alvarez: int8 symmetric per tensor, scale max|w| / 127. */
function quantizeLstmWeight(values: Float32Array, shape: number[], name: string): QuantizedTensor {
  let alpha = 0;
  for (let i = 0; i < values.length; i++) alpha = Math.max(alpha, Math.abs(values[i]));
  if (!Number.isFinite(alpha)) throw new InputError('non-finite weights', `weights.${name}`);
  const ic = toIntegerCodes(values, { bits: 8, scale: alpha / 127 });
  return { codes: ic.codes, shape, bits: 8, scale: ic.scale, zeroPoint: 0 };
}

