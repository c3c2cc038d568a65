/**
 * @orthoquant/integer — post-training quantization (PTQ) and integer-only inference:
 * QORNN / ORNN (dense integer W), HadamRNN and Block-HadamRNN (Walsh–Hadamard transform and
 * sign flips only: no multiplication in the recurrent loop), and the TFLite-style integer LSTM
 * of Li & Alvarez. Every engine has a Float64 simulation of its integer arithmetic that it
 * matches bit for bit. Integer models are stored in a versioned file (see FORMAT.md) and
 * deploy as dependency-free C99 (`generateC`: integer-only, no heap, bit-exact with the engines).
 */
export type {
  FloatModel,
  FloatOrnn,
  FloatHadamRnn,
  FloatLstm,
  IntegerModel,
  IntegerOrnn,
  IntegerHadamRnn,
  IntegerLstm,
  ModelKind,
  QuantizedTensor,
  Readout,
  RecurrentActivation,
  ReadoutActivation,
  WeightBits,
} from './model.js';
export {
  quantizeMultiplier,
  multiplierValue,
  multiplyByQuantizedMultiplier,
  srdhm,
  roundingRightShift,
  saturatingLeftShift,
  saturate,
  INT32_MIN,
  INT32_MAX,
} from './fixed-point/fixed-point.js';
export type { FixedMultiplier } from './fixed-point/fixed-point.js';
export { floatForward } from './float/reference.js';
export { floatForwardNative } from './float/native.js';
export type { ActivationObserver, FloatState } from './float/reference.js';
export { calibrate } from './ptq/calibrate.js';
export type { Calibration, CalibrateOptions, DenseInputs } from './ptq/calibrate.js';
export { exportInteger, quantizeWeight, quantizeBias, activationTable, ACT_BITS } from './ptq/export.js';
export type { PtqOptions } from './ptq/export.js';
export { parsePtqSettings } from './ptq/options.js';
export type { PtqSettings } from './ptq/options.js';
export { hadamRnnErrorBound } from './ptq/bounds.js';
export type { HadamRnnBound } from './ptq/bounds.js';
export { quantizeInputs, dequantizeLogits, tokenInputCodes, embedTokens } from './engines/common.js';
export type { IntegerOutput, IntegerState } from './engines/common.js';
export { runHadamRnn, hadamardStep } from './engines/hadamrnn.js';
export { setIntegerEngine, integerEngineInfo } from './engines/native.js';
export type { IntegerEngineChoice } from './engines/native.js';
export type { OpCounts, EngineOptions } from './engines/hadamrnn.js';
export { runOrnn } from './engines/ornn.js';
export { runLstm, lookupQ15, cellToQ312 } from './engines/lstm.js';
export { runInteger, runIntegerCodes, runIntegerTokens, simulateInteger, initialState } from './engines/run.js';
export { simulateHadamRnn } from './simulate/hadamrnn.js';
export { simulateOrnn } from './simulate/ornn.js';
export { simulateLstm } from './simulate/lstm.js';
export type { SimulatedOutput } from './simulate/common.js';
export { encodeIntegerModel, decodeIntegerModel, writeIntegerModel, readIntegerModel, crc32, FORMAT_NAME, FORMAT_VERSION, MAGIC } from './format/file.js';
export type { IntegerModelFile, ModelMetadata, TensorEntry, Dtype } from './format/file.js';
export { evaluateInteger, evaluateFloat, quantizeForTask, taskBatches } from './evaluate.js';
export type { EvaluateOptions, EvaluationResult, IntegerEngine, TaskPtqOptions } from './evaluate.js';
export { fromRecurrentModel } from './adapter.js';
export { generateC } from './export-c/generate.js';
export type { GenerateOptions, GeneratedC, CSizes } from './export-c/generate.js';
export { compileDemo, runCompiled, measureCodeBytes, findCompiler, writeGenerated, STRICT_FLAGS, SANITIZE_FLAGS } from './export-c/compile.js';
export type { CompiledModel } from './export-c/compile.js';
