/**
 * A trained model back from its checkpoint. The checkpoint layout (`model/<weight>` tensors,
 * see checkpoint.ts) is read here, in the package that writes it, not by the packages that use
 * trained models (the sweep's PTQ stage, `orthoquant quantize`, `orthoquant results`).
 */
import { InputError } from '@orthoquant/runtime';
import { createModel } from '@orthoquant/models';
import type { ModelConfig, NamedWeights, RecurrentModel } from '@orthoquant/models';
import type { Task } from '@orthoquant/tasks';
import { readCheckpoint, resolveCheckpoint, type TensorRecord } from './checkpoint.js';
import type { TrialConfig } from './config.js';
import { modelIO } from './run-trial.js';

/** The checkpoint tensors that are the model's weights (`model/<weight>`), by weight name. */
export function modelWeights(tensors: Record<string, TensorRecord>): NamedWeights {
  const weights: NamedWeights = {};
  for (const [k, t] of Object.entries(tensors)) if (k.startsWith('model/')) weights[k.slice('model/'.length)] = t;
  return weights;
}

/** The trained model of a trial, rebuilt from a checkpoint file (or the latest in a folder). */
export function loadTrainedModel(config: TrialConfig, task: Task, checkpoint: string): { model: RecurrentModel; path: string; step: number } {
  const path = resolveCheckpoint(checkpoint);
  const { meta, tensors } = readCheckpoint<{ step?: number }>(path);
  const weights = modelWeights(tensors);
  if (Object.keys(weights).length === 0) throw new InputError('the checkpoint holds no model weights (no model/* tensor)', path);
  const model = createModel(config.model as ModelConfig, modelIO(task), config.seed);
  try {
    model.setWeights(weights);
  } catch (e) {
    model.dispose();
    throw new InputError(`the checkpoint does not fit the trial's model: ${(e as Error).message}`, path);
  }
  return { model, path, step: typeof meta.step === 'number' ? meta.step : -1 };
}
