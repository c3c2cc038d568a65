/**
 * `createTask(config)`: a task from a plain config object (YAML, CLI, code), validated by the
 * task's own schema (unknown keys are errors); `taskConfigSchema`: the same validation as the
 * task part of a trial config, which `train` composes.
 */
import { z } from 'zod';
import { oneOf } from '@orthoquant/runtime';
import { CopyTask, copyTaskSchema } from './copy/copy-task.js';
import type { CopyTaskConfig } from './copy/copy-task.js';
import { MnistTask, mnistTaskSchema } from './mnist/mnist-task.js';
import type { MnistTaskConfig } from './mnist/mnist-task.js';
import { ImdbTask, imdbTaskSchema } from './imdb/imdb-task.js';
import type { ImdbTaskConfig } from './imdb/imdb-task.js';
import { PtbCharTask, ptbCharTaskSchema } from './ptb/ptb-char-task.js';
import type { PtbCharTaskConfig } from './ptb/ptb-char-task.js';
import { GlueTask, glueTaskSchema } from './glue/glue-task.js';
import type { GlueTaskConfig } from './glue/glue-task.js';
import { configError, taskIssues } from './core/config.js';
import type { ConfigRecord } from './core/config.js';
import type { Task, TaskName } from './core/task.js';

export type TaskConfig = CopyTaskConfig | MnistTaskConfig | ImdbTaskConfig | PtbCharTaskConfig | GlueTaskConfig;
/** A task config as a trial records it: its name, and its keys as written (each checked by the task's schema). */
export type WrittenTaskConfig = ConfigRecord & { readonly name: TaskName };

export interface CreateTaskOptions {
  /** Where datasets live (else `ORTHOQUANT_DATA_DIR`); a config's own `path` wins. */
  dataDir?: string;
  /** Key path used in error messages (default `task`). */
  path?: string;
  /** The trial's seed: what a data seed of `'trial'` (copy `seed`, MNIST `splitSeed`) means (else 0). */
  trialSeed?: number | string;
}

export const TASK_NAMES: readonly TaskName[] = ['copy', 'smnist', 'pmnist', 'fashion-mnist', 'imdb', 'ptb-char', 'sst2', 'qqp'];

/** The schema of each task's part of a config. */
export const TASK_SCHEMAS: Readonly<Record<TaskName, z.ZodType>> = {
  copy: copyTaskSchema,
  smnist: mnistTaskSchema,
  pmnist: mnistTaskSchema,
  'fashion-mnist': mnistTaskSchema,
  imdb: imdbTaskSchema,
  'ptb-char': ptbCharTaskSchema,
  sst2: glueTaskSchema,
  qqp: glueTaskSchema,
};

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

/**
 * The task part of a trial config: checked by its task's schema (the messages of `createTask`,
 * at the same key paths) and recorded as written, with only its data-seed defaults written out
 * (`withDataDefaults`). The other defaults are not filled in: a trial's hash is the hash of its
 * config, and the task part has always been recorded this way.
 */
export const taskConfigSchema = z
  .looseObject({ name: oneOf(TASK_NAMES) })
  .superRefine((cfg, ctx) => {
    const schema = TASK_SCHEMAS[cfg.name];
    const r = schema.safeParse(cfg);
    if (!r.success) for (const iss of taskIssues(schema, r.error.issues, cfg.name)) ctx.addIssue({ ...iss });
  })
  .transform((cfg) => withDataDefaults(cfg) as WrittenTaskConfig);

/** A task config whose name may come from elsewhere (a CLI flag, a model file's metadata): its keys are checked by `createTask`. */
export const partialTaskConfigSchema = z.looseObject({ name: oneOf(TASK_NAMES).optional() });

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
