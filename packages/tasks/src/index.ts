/**
 * @orthoquant/tasks — the papers' tasks and datasets: copy task, sequential / permuted
 * (Fashion-)MNIST, IMDB, Penn Treebank characters, GLUE SST-2 and QQP. One `Task` interface, time-major batches.
 */
export type {
  Split,
  TaskName,
  OutputMode,
  InputKind,
  LossKind,
  Batch,
  ClassIds,
  DenseBatch,
  TokenBatch,
  EpochOptions,
  MetricName,
  MetricDefinition,
  Baseline,
  JsonValue,
  TaskDescription,
  Task,
  ExampleTask,
} from './core/task.js';
export { SPLITS, isExampleTask } from './core/task.js';
export { MetricAccumulator } from './core/metrics.js';
export type { MetricValues } from './core/metrics.js';
export { batchToTensors } from './core/tensors.js';
export type { BatchTensors } from './core/tensors.js';
export type { ConfigRecord } from './core/config.js';
export { resolveTrialSeeds } from './core/config.js';
export { createTask, withDataDefaults, TASK_NAMES, TASK_SCHEMAS, taskConfigSchema, partialTaskConfigSchema } from './create-task.js';
export type { TaskConfig, WrittenTaskConfig, CreateTaskOptions } from './create-task.js';
export {
  CopyTask,
  copyTaskSchema,
  copyMemorylessBaseline,
  COPY_BLANK,
  COPY_MARKER,
  COPY_NUM_SYMBOLS,
  COPY_INPUT_DIM,
  COPY_NUM_CLASSES,
} from './copy/copy-task.js';
export type { CopyTaskConfig, CopyLengthConvention } from './copy/copy-task.js';
export { NumpyRandomState, numpyLegacyPermutation } from './core/numpy-random-state.js';
export { MnistTask, mnistTaskSchema, PIXEL_SCALINGS, PIXEL_STATS, PMNIST_PERMUTATION_SEED, VAL_SPLITS } from './mnist/mnist-task.js';
export type { MnistTaskConfig, PixelScaling, ValSplit } from './mnist/mnist-task.js';
export { parseIdx, readIdxFile, IdxRows, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from './mnist/idx.js';
export type { IdxArray } from './mnist/idx.js';
export { loadImageDataset, mnistDataPackageDir, IDX_FILE_NAMES, DEBIAN_FASHION_MNIST_DIR } from './mnist/image-dataset.js';
export type { ImageDataset, ImageDatasetName } from './mnist/image-dataset.js';
export { DATA_DIR_ENV } from './core/data-files.js';
export { ImdbTask, imdbTaskSchema, tokenizeReview, IMDB_PAD, IMDB_START, IMDB_OOV, IMDB_INDEX_FROM, IMDB_SHUFFLE_SEED } from './imdb/imdb-task.js';
export type { ImdbTaskConfig } from './imdb/imdb-task.js';
export { readNpz, parseNpy, readZip, unpickle } from './imdb/npz.js';
export type { NpyArray } from './imdb/npz.js';
export { PtbCharTask, ptbCharTaskSchema, ptbLineSymbols, PTB_EOL, PTB_WORD_BOUNDARY } from './ptb/ptb-char-task.js';
export type { PtbCharTaskConfig } from './ptb/ptb-char-task.js';
export { GlueTask, glueTaskSchema, readGlueTsv, findGlue, GLUE_TASKS, GLUE_FOLDERS, F1_METRIC } from './glue/glue-task.js';
export type { GlueTaskConfig, GlueTaskName } from './glue/glue-task.js';
export { loadWordPiece, bertTokenizerJson, findTokenizer, BERT_SPECIAL_TOKENS, BERT_TOKENIZER_DIR } from './glue/wordpiece.js';
export type { WordPiece } from './glue/wordpiece.js';
