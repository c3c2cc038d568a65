/**
 * `createTask(config)`: a task from a plain config object (YAML, CLI, code). The config is
 * validated key by key; unknown keys are errors.
 */
import { CopyTask } from './copy/copy-task.js';
import type { CopyTaskConfig } from './copy/copy-task.js';
import { MnistTask } from './mnist/mnist-task.js';
import type { MnistTaskConfig } from './mnist/mnist-task.js';
import { ImdbTask } from './imdb/imdb-task.js';
import type { ImdbTaskConfig } from './imdb/imdb-task.js';
import { PtbCharTask } from './ptb/ptb-char-task.js';
import type { PtbCharTaskConfig } from './ptb/ptb-char-task.js';
import { GlueTask } from './glue/glue-task.js';
import type { GlueTaskConfig } from './glue/glue-task.js';
import { configError } from './core/config-checks.js';
import type { ConfigRecord } from './core/config-checks.js';
import type { Task, TaskName } from './core/task.js';

export type TaskConfig = CopyTaskConfig | MnistTaskConfig | ImdbTaskConfig | PtbCharTaskConfig | GlueTaskConfig;

export interface CreateTaskOptions {
  /** Where datasets live (else `ORTHOQUANT_DATA_DIR`); a config's own `path` wins. */
  dataDir?: string;
  /** Key path used in error messages (default `task`). */
  path?: string;
  /** The trial's seed: what a data seed of `'trial'` (copy `seed`, MNIST `splitSeed`) means (else 0). */
  trialSeed?: number | string;
}

export const TASK_NAMES: readonly TaskName[] = ['copy', 'smnist', 'pmnist', 'fashion-mnist', 'imdb', 'ptb-char', 'sst2', 'qqp'];

/**
 * A task config with its data-seed defaults written out — copy `seed: 'trial'`, MNIST-family
 * `valSplit: 'random'` and `splitSeed: 'trial'` (the reference code's behaviour) — so that a
 * recorded config (and its hash) says which data a run used. The readers apply the same defaults.
 */
export function withDataDefaults(config: ConfigRecord): ConfigRecord {
  const task: Record<string, unknown> = { ...config };
  if (task.name === 'copy' && task.seed === undefined) task.seed = 'trial';
  if (task.name === 'smnist' || task.name === 'pmnist' || task.name === 'fashion-mnist') {
    if (task.valSplit === undefined) task.valSplit = 'random';
    if (task.valSplit === 'random' && task.splitSeed === undefined) task.splitSeed = 'trial';
  }
  return task;
}

export function createTask(config: TaskConfig | ConfigRecord, options: CreateTaskOptions = {}): Task {
  const path = options.path ?? 'task';
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw configError(path, 'a task config object', config);
  const cfg = config as ConfigRecord;
  switch (cfg.name) {
    case 'copy':
      return new CopyTask(cfg, path, options.trialSeed);
    case 'smnist':
    case 'pmnist':
    case 'fashion-mnist':
      return new MnistTask(cfg, { dataDir: options.dataDir, path, ...(options.trialSeed !== undefined ? { trialSeed: options.trialSeed } : {}) });
    case 'imdb':
      return new ImdbTask(cfg, { dataDir: options.dataDir, path });
    case 'ptb-char':
      return new PtbCharTask(cfg, { dataDir: options.dataDir, path });
    case 'sst2':
    case 'qqp':
      return new GlueTask(cfg, { dataDir: options.dataDir, path });
    default:
      throw configError(`${path}.name`, `one of ${TASK_NAMES.map((n) => `'${n}'`).join(' | ')}`, cfg.name);
  }
}
