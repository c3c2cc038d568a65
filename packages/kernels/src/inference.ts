/**
 * Native inference engines (native/integer.cc) on plain typed arrays, for @orthoquant/integer:
 * the integer-only HadamRNN (multiplication-free SIMD recurrence) and dense ORNN, bit-exact with
 * its JS engines, and the float32 HadamRNN inference of the same model (for speed comparisons).
 * `nativeInference()` is null when the addon is absent (then the JS engines run).
 */
import { loadNative } from './native.js';

/** The shape and cell options both HadamRNN inference engines take. */
export interface HadamRnnInferenceShape {
  T: number;
  B: number;
  n: number;
  blockSize: number;
  inputSize: number;
  outputSize: number;
  relu: boolean;
  readoutRelu: boolean;
  manyToMany: boolean;
}

/** Integer HadamRNN: the fields of @orthoquant/integer's IntegerHadamRnn, as int32 arrays. */
export interface IntegerHadamRnnArgs extends HadamRnnInferenceShape {
  actBits: number;
  /** Phase of the grid the state starts on. */
  phase0: number;
  /** Input codes [T·B·inputSize]. */
  xq: Int32Array;
  inputZeroPoint: number;
  /** U codes [inputSize·n]. */
  U: Int32Array;
  bInput: Int32Array;
  /** [multiplier₀, shift₀, multiplier₁, shift₁]. */
  inputRescale: Int32Array;
  /** 0 for sign +1, −1 for sign −1 [n]. */
  signMask: Int32Array;
  stepShifts: Int32Array;
  /** V codes [n·outputSize]. */
  V: Int32Array;
  /** cLogit of phase 0 then phase 1 [2·outputSize]. */
  cLogit: Int32Array;
  /** In: the state codes [B·n]; out: the final state. */
  h: Int32Array;
  /** Out: [T or 1, B, outputSize]. */
  logits: Int32Array;
}

/** Integer dense ORNN: the fields of IntegerOrnn, as int32 arrays. */
export interface IntegerOrnnArgs {
  T: number;
  B: number;
  n: number;
  inputSize: number;
  outputSize: number;
  actBits: number;
  relu: boolean;
  readoutRelu: boolean;
  manyToMany: boolean;
  xq: Int32Array;
  inputZeroPoint: number;
  U: Int32Array;
  bInput: Int32Array;
  /** [multiplier, shift]. */
  inputRescale: Int32Array;
  /** W codes [n·n]. */
  W: Int32Array;
  /** [multiplier, shift]. */
  stateRescale: Int32Array;
  V: Int32Array;
  cLogit: Int32Array;
  h: Int32Array;
  logits: Int32Array;
}

/** Float32 HadamRNN inference: h_t = σ(s ⊙ (I ⊗ H_m) h_{t−1}/√m + x_t U + b), logits f(h_t) V + c. */
export interface FloatHadamRnnArgs extends HadamRnnInferenceShape {
  x: Float32Array;
  U: Float32Array;
  b: Float32Array;
  /** signs / √m [n]. */
  scaledSigns: Float32Array;
  V: Float32Array;
  c: Float32Array;
  h: Float32Array;
  logits: Float32Array;
}

export interface InferenceImplementation {
  /** out[i] = clamp(roundHalfEven(x[i] / scale) + zeroPoint, qmin, qmax) (NaN → 0). */
  quantizeInputs(x: Float32Array, scale: number, zeroPoint: number, qmin: number, qmax: number, out: Int32Array): void;
  /**
   * Runs the integer HadamRNN; returns how many row-steps (of T·B) ran on 16-bit lanes (the
   * rest on 32-bit lanes): a row takes the 16-bit step when m·2^(b−1) + max|z| + the rounding
   * bias fits int16 (the results are the same either way).
   */
  integerHadamRnn(a: IntegerHadamRnnArgs): number;
  integerOrnn(a: IntegerOrnnArgs): void;
  floatHadamRnn(a: FloatHadamRnnArgs): void;
  /** The instruction set of the build that runs ('avx2+fma', 'sse2', …). */
  simd: string;
}

/** The native inference engines, or null (with `loadNative().reason`) without the addon. */
export function nativeInference(): InferenceImplementation | null {
  return loadNative().inference;
}
