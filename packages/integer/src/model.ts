/**
 * Plain typed-array model descriptions: the float models the PTQ pipeline starts from, and
 * the integer models it produces (what the file format stores and the engines run).
 *
 * Conventions (those of `@orthoquant/models`): time-major inputs `[T, B, inputSize]`; W is
 * `[n, n]` with `h_t = W h_{t−1} + …`; U `[inputSize, n]` and V `[n, outputSize]` in the row
 * convention `z_t = x_t U + b`, `ŷ_t = f(h_t) V + c`; LSTM gates in the order i, f, g, o
 * (`Wx [inputSize, 4n]`, `Wh [n, 4n]`, `b [4n]`).
 */
import type { FixedMultiplier } from './fixed-point/fixed-point.js';

export type Readout = 'many-to-many' | 'last';
/** Recurrence σ: `linear` is the reference code's `h_t = W h_{t−1} + U x_t + b`. */
export type RecurrentActivation = 'linear' | 'relu';
export type ReadoutActivation = 'linear' | 'relu';

interface FloatCommon {
  /** Hidden size n. */
  n: number;
  inputSize: number;
  outputSize: number;
  readout: Readout;
  /** `[n, outputSize]`. */
  V: Float32Array;
  /** `[outputSize]`. */
  c: Float32Array;
  /**
   * Token tasks (IMDB): the embedding table `[vocabSize, inputSize]`; inputs are token ids and
   * x_t = embedding[token].
   */
  embedding?: Float32Array;
  vocabSize?: number;
}

/** Bits the weights were trained at (QAT); absent = float. */
export interface WeightBits {
  W?: number | null;
  U?: number | null;
  V?: number | null;
}

/** Dense ORNN / QORNN. */
export interface FloatOrnn extends FloatCommon {
  kind: 'ornn';
  activation: RecurrentActivation;
  readoutActivation: ReadoutActivation;
  /** `[n, n]`, h_t = W h_{t−1} + … */
  W: Float32Array;
  U: Float32Array;
  b: Float32Array;
  bits?: WeightBits;
}

/** HadamRNN (blockSize = n) and Block-HadamRNN (blockSize m < n): W = diag(signs)·(I ⊗ H_m)/√m. */
export interface FloatHadamRnn extends FloatCommon {
  kind: 'hadamrnn';
  activation: RecurrentActivation;
  readoutActivation: ReadoutActivation;
  /** ±1, length n. */
  signs: Int8Array;
  blockSize: number;
  U: Float32Array;
  b: Float32Array;
  bits?: WeightBits;
}

/** LSTM, gates i, f, g, o; linear readout `ŷ = h V + c`. */
export interface FloatLstm extends FloatCommon {
  kind: 'lstm';
  Wx: Float32Array;
  Wh: Float32Array;
  b: Float32Array;
}

export type FloatModel = FloatOrnn | FloatHadamRnn | FloatLstm;
export type ModelKind = FloatModel['kind'];

/** Integer codes with a real step: real = scale · (code − zeroPoint). */
export interface QuantizedTensor {
  codes: Int8Array | Int16Array | Int32Array;
  shape: number[];
  bits: number;
  scale: number;
  zeroPoint: number;
}

interface IntegerCommon {
  n: number;
  inputSize: number;
  outputSize: number;
  readout: Readout;
  /** Bits of the input and hidden-state codes (LSTM: 8). */
  actBits: number;
  /** Input codes: x_q = clamp(round(x / inputScale) + inputZeroPoint). */
  inputScale: number;
  inputZeroPoint: number;
  /** Token tasks: vocabulary size and the embedding rows as input codes `[vocabSize, inputSize]`. */
  vocabSize?: number;
  embedding?: Int8Array | Int16Array | Int32Array;
}

/**
 * Integer HadamRNN. The hidden state lives on one of two grids ("phases"): for m = 2^k with
 * k even both are s; for k odd, a step from phase 0 shifts right by ⌈k/2⌉ and lands on √2·s
 * (phase 1), the next shifts by ⌊k/2⌋ and comes back to s — so the 1/√m of W is only shifts.
 */
export interface IntegerHadamRnn extends IntegerCommon {
  kind: 'hadamrnn';
  activation: RecurrentActivation;
  readoutActivation: ReadoutActivation;
  signs: Int8Array;
  blockSize: number;
  /**
   * Orders m = p·2^k that are not powers of two (absent for 2^k): H_m = H_p ⊗ H_{2^k} with
   * H_p = `hadamardP` (p × p ±1, row-major, p = `hadamardOrder`), and the 1/√m of W as the
   * integer `stepMultiplier` C = round(2^F/√m), F = `multiplierShift`: the accumulator is
   * Σ_{set bits e of C} ⌊a·2^e / 2^{F−G}⌋ (one shift and one add per bit), G = stepShifts[0]
   * = stepShifts[1] guard bits removed by the rounding shift (one state grid: stateScales equal).
   */
  hadamardOrder?: number;
  hadamardP?: Int8Array;
  stepMultiplier?: number;
  multiplierShift?: number;
  /** Real step of the hidden codes on phase 0 and 1. */
  stateScales: [number, number];
  /** Right shift of a step whose previous state is on phase p. */
  stepShifts: [number, number];
  U: QuantizedTensor;
  /** b in the input accumulator scale (U.scale · inputScale). */
  bInput: Int32Array;
  /** Input accumulator → recurrent accumulator of a step whose previous state is on phase p. */
  inputRescale: [FixedMultiplier, FixedMultiplier];
  V: QuantizedTensor;
  /** c in the logit scale V.scale · stateScales[p], for a state on phase p. */
  cLogit: [Int32Array, Int32Array];
}

/** Integer dense ORNN / QORNN: q_t = sat(M · (W_q q_{t−1} + z_t)), one fixed-point rescale per unit. */
export interface IntegerOrnn extends IntegerCommon {
  kind: 'ornn';
  activation: RecurrentActivation;
  readoutActivation: ReadoutActivation;
  stateScale: number;
  W: QuantizedTensor;
  U: QuantizedTensor;
  /** b in the input accumulator scale. */
  bInput: Int32Array;
  /** Input accumulator (U.scale·inputScale) → recurrent accumulator (W.scale·stateScale). */
  inputRescale: FixedMultiplier;
  /** Recurrent accumulator → state codes (W.scale). */
  stateRescale: FixedMultiplier;
  V: QuantizedTensor;
  /** c in the logit scale V.scale · stateScale. */
  cLogit: Int32Array;
}

/**
 * Integer LSTM (Li & Alvarez / TFLite): int8 symmetric weights, int8 asymmetric x and h,
 * int16 Q3.12 gate pre-activations, Q0.15 gate outputs, int16 cell at scale 2^−cellShift.
 */
export interface IntegerLstm extends IntegerCommon {
  kind: 'lstm';
  stateScale: number;
  stateZeroPoint: number;
  /** Cell codes have real step 2^−cellShift. */
  cellShift: number;
  Wx: QuantizedTensor;
  Wh: QuantizedTensor;
  /** b in the scale Wx.scale · inputScale. */
  bInput: Int32Array;
  /** Wx accumulator → Q3.12. */
  inputRescale: FixedMultiplier;
  /** Wh accumulator → Q3.12. */
  recurrentRescale: FixedMultiplier;
  /** Q0.30 (o · tanh c) → hidden codes. */
  hiddenRescale: FixedMultiplier;
  /** Sigmoid and tanh tables: 513 Q0.15 entries over Q3.12 inputs [−8, 8]. */
  sigmoidTable: Int16Array;
  tanhTable: Int16Array;
  V: QuantizedTensor;
  /** c in the logit scale V.scale · stateScale. */
  cLogit: Int32Array;
}

export type IntegerModel = IntegerHadamRnn | IntegerOrnn | IntegerLstm;
