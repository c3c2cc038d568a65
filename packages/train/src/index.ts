/**
 * @orthoquant/train — one training run: trial config (zod), optimizers (Adam, RMSprop, SGD
 * with a separate orthogonal learning rate), step LR schedule, clipping, evaluation,
 * diagnostics, NaN/Inf stop, checkpoints and exact resume, events and progress; a trial including
 * its integer-only PTQ stage (`runTrialWithPtq`) and the preflight of trial configs.
 */
export { runTrial, modelIO, forwardInChunks, EVAL_STATE_FLOATS, TrialStoppedError, timeTrainingSteps } from './run-trial.js';
export type { RunTrialOptions, TrainEvent, Metrics, ProgressReporter, ProgressUpdate, StepTiming } from './run-trial.js';
export { parseTrialConfig, trialConfigSchema } from './config.js';
export type { TrialConfig, TrialConfigInput } from './config.js';
export { Optimizer, globalNorm } from './optimizers.js';
export type { OptimizerName, OptimizerSettings, OptimizerState } from './optimizers.js';
export { lossTensor } from './loss.js';
export { readCheckpoint, writeCheckpoint, resolveCheckpoint, checkpointFileName, checkpointValid } from './checkpoint.js';
export type { CheckpointData, TensorRecord } from './checkpoint.js';
export { loadTrainedModel, modelWeights } from './trained-model.js';
export { runTrialWithPtq, integerStage, integerSettings, preflight as preflightTrials } from './ptq-trial.js';
export type { PtqTrialEvent, PtqTrialOptions, PreflightTrial, IntegerStageOptions, IntegerStageResult } from './ptq-trial.js';
