/** `createModel(config, io, seed)`: the model a config describes, initialised from a seed. */
import { createRng, Rng } from '@orthoquant/runtime';
import { FastRnn, Lstm } from './baselines.js';
import { HadamRnn } from './hadamrnn.js';
import { Ornn } from './ornn.js';
import type { ModelConfig, ModelIO, RecurrentModel } from './types.js';

/**
 * Build and initialise a model. `seed` (or an `Rng`) feeds `fork('model')`, whose named
 * sub-streams (`U`, `V`, `W`, `u`, …) make every tensor's init independent of the others.
 * The config is expected to be validated already (`parseTrialConfig` / `parseModelConfig`
 * in `@orthoquant/train`).
 */
export function createModel(config: ModelConfig, io: ModelIO, seed: number | string | Rng = 0): RecurrentModel {
  const rng = (seed instanceof Rng ? seed : createRng(seed)).fork('model');
  switch (config.type) {
    case 'ornn':
    case 'qornn':
      return new Ornn(config, io, rng);
    case 'hadamrnn':
      return new HadamRnn(config, io, rng);
    case 'lstm':
      return new Lstm(config, io, rng);
    case 'fastrnn':
    case 'fastgrnn':
      return new FastRnn(config, io, rng);
    default:
      throw new Error(`createModel: unknown model type '${(config as { type: unknown }).type}'`);
  }
}
