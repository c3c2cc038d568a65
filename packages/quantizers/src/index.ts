/**
 * @orthoquant/quantizers — k-bit uniform, binary and ternary quantizers with
 * straight-through estimators (tensor forms), their typed-array twins (same float32
 * arithmetic, bit for bit), activation calibration for PTQ, and integer export.
 */
export { roundHalfEven, clamp } from './rounding.js';
export { absPercentile } from './percentile.js';
export { withSte } from './ste.js';
export type { SteKind } from './ste.js';
export { quantizeUniform, quantizeUniformArray, uniformAlpha, uniformRange, uniformStep } from './uniform.js';
export type { ScaleChoice, UniformOptions } from './uniform.js';
export { signSte, signArray, binarize, binarizeArray, binaryAlpha, ternary, ternaryArray, ternaryParams } from './binary.js';
export type { SignOptions, BinarizeOptions, TernaryOptions } from './binary.js';
export { quantizeAffine, quantizeAffineArray, affineParams } from './affine.js';
export type { AffineParams, AffineOptions } from './affine.js';
export { toIntegerCodes, fromIntegerCodes, uniformCodes, integerArrayFor } from './integer.js';
export type { IntegerArray, IntegerCodes, IntegerCodeOptions } from './integer.js';
export { ActivationCalibrator, createCalibrator, nextPowerOfTwo } from './calibration.js';
export type { CalibrationStatistic, CalibratorOptions } from './calibration.js';
export { makeQuantizer, parseWeightQuantizer } from './config.js';
export type { Quantizer, WeightQuantizerConfig } from './config.js';
