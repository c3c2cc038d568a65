/** Fixtures for tests (kept out of the main barrel): a tiny copy-task trial config. */
import type { TrialConfigInput } from './config.js';

/**
 * Copy task with T = 12 (K = 2), 256/64/64 examples, batch 32 (8 steps per epoch), hidden 8,
 * a HadamRNN unless `model` says otherwise.
 */
export function tinyTrial(overrides: Partial<TrialConfigInput> = {}): TrialConfigInput {
  return {
    seed: 7,
    task: { name: 'copy', T: 12, K: 2, trainSize: 256, valSize: 64, testSize: 64, seed: 3 },
    model: { type: 'hadamrnn', hidden: 8, bits: 4 },
    batchSize: 32,
    optimizer: { name: 'adam', lr: 0.02 },
    schedule: { gamma: 0.9 },
    budget: { epochs: 2 },
    ...overrides,
  };
}
