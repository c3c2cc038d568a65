/**
 * @orthoquant/kernels — the speed: whole recurrences over T steps as single tfjs ops with a
 * hand-written BPTT backward (dense W, Hadamard and block-Hadamard W by the fast
 * Walsh–Hadamard transform), a native SIMD implementation with a pure-JS fallback, and the
 * same scans on plain Float32Arrays.
 */
export { denseScan, hadamardScan, scanForward, scanBackward, scanBackwardReversible } from './scan.js';
export type { ScanOptions, HadamardScanOptions } from './scan.js';
export { kernelInfo, setKernelImplementation, setKernelThreads, availableImplementations } from './implementation.js';
export type { KernelInfo, KernelImplementation } from './implementation.js';
export { ACTIVATIONS } from './scan-spec.js';
export type { Activation, RecurrenceKind, ScanSpec, ScanForwardInputs, ScanGradients } from './scan-spec.js';
export { fwhtBlocks } from './hadamard-transform.js';
export { kronTransform, pStage, applyPStage, recurrentTransform, checkHadamardOrder } from './hadamard-transform.js';
export type { PStage, HadamardOrder } from './hadamard-transform.js';
export { lstmScan, lstmForward, lstmBackward } from './lstm.js';
export type { LstmSpec, LstmInputs, LstmOutputs, LstmGradients } from './lstm-spec.js';
export { affineRows, affineForward, affineBackward, readoutCrossEntropy } from './affine.js';
export type { AffineRowsOptions, AffineSpec, AffineGradients } from './affine.js';
export { hadamardRnnLoss, denseRnnLoss, fusedStepForward, fusedStepBackward } from './fused-step.js';
export type { HadamardRnnLossOptions, DenseRnnLossOptions, FusedStepSpec, FusedStepInputs, FusedStepGradients } from './fused-step.js';
export { lstmRnnLoss, lstmLossForward, lstmLossBackward } from './lstm-loss.js';
export type { LstmRnnLossOptions, LstmLossSpec, LstmLossInputs, LstmLossGradients } from './lstm-loss.js';
export { nativeInference } from './inference.js';
export type { InferenceImplementation, IntegerHadamRnnArgs, IntegerOrnnArgs, FloatHadamRnnArgs } from './inference.js';
