/**
 * @orthoquant/models — recurrent models behind one interface (`RecurrentModel`): ORNN
 * (linear / nonlinear, W from any orthogonal parameterization), QORNN (STE-Björck,
 * STE-projUNN), HadamRNN and Block-HadamRNN, LSTM / FastRNN / FastGRNN baselines; PTQ copies;
 * size accounting in bits.
 */
export type {
  Activation,
  Readout,
  OrthogonalMethod,
  WInit,
  QatStrategy,
  OrnnConfig,
  QornnConfig,
  HadamRnnConfig,
  BaselineConfig,
  ModelConfig,
  ModelConfigInput,
  ModelType,
  ModelIO,
  ModelState,
  NamedWeight,
  NamedWeights,
  ParameterGroups,
  ManagedParameter,
  SizeEntry,
  SizeReport,
  QuantizationInfo,
  ModelDiagnostics,
  RecurrentModel,
} from './types.js';
export { ORTHOGONAL_METHODS, W_INITS, QAT_STRATEGIES, BIAS_INITS, U_INITS, MODEL_TYPES, modelConfigSchema, parseModelConfig } from './config.js';
export { createModel } from './create.js';
export { Ornn } from './ornn.js';
export { HadamRnn } from './hadamrnn.js';
export { Lstm, FastRnn } from './baselines.js';
export { quantizeWeightsPostTraining, FrozenRnn } from './ptq.js';
export type { PtqConfig } from './ptq.js';
export { matrixDiagnostics, setFusedDense } from './base.js';
export { singularValueRange } from './spectrum.js';
