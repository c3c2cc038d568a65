/**
 * GLUE SST-2 (sentence sentiment) and QQP (are two Quora questions duplicates?), binary, as the
 * HadamRNN reference runs them: WordPiece ids of `bert-base-uncased` for an embedding layer,
 * `[CLS] … [SEP]` cut / padded to 128 (pads after the text; the prediction is read at the
 * last step), QQP's questions joined as `q1 [SEP] [SEP] q2` in one sequence, sigmoid
 * (binary) cross-entropy, accuracy (and F1 of the duplicate class for QQP).
 *
 * Data: the GLUE TSV files (`train.tsv`, `dev.tsv`; header row, tab-separated, no quoting)
 * of `SST-2/` (columns `sentence`, `label`) and `QQP/` (`question1`, `question2`,
 * `is_duplicate`). GLUE's test labels are hidden, so the dev split is the test set (as the
 * reference does, whose test split has no labels); val is the dev split too (the reference
 * monitors it) unless `valSize` keeps fewer of its first examples.
 * Looked for in: the config's `path` (the task folder, or a folder holding `SST-2/` / `QQP/`
 * or `glue/SST-2/`…), then `<dataDir>`, then `$ORTHOQUANT_DATA_DIR`.
 *
 * Tokenizer: the config's `tokenizer` (a tokenizer.json, a vocab.txt or a folder holding one),
 * else `bert-base-uncased/{tokenizer.json,vocab.txt}` (or the files themselves) under the same
 * data roots. Nothing is downloaded: a missing file is an error at construction that says how
 * to get it.
 *
 * `sampler: 'balanced'` draws each training epoch as the reference's
 * `WeightedRandomSampler(1 / class count)`: n draws with replacement, each class equally
 * likely, uniform within the class.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Rng } from '@orthoquant/runtime';
import { z } from 'zod';
import { int, log, nonEmptyString, oneOf } from '@orthoquant/runtime';
import { ACCURACY_METRIC, LOSS_METRIC, checkBatchSize, checkIndices, checkSplit, exampleBatchCount, exampleEpoch } from '../core/task.js';
import type { Baseline, Batch, EpochOptions, ExampleTask, MetricDefinition, Split, TaskDescription, TokenBatch } from '../core/task.js';
import { configError, parseTaskPart, taskSchema, withDefault } from '../core/config.js';
import { TokenClassificationTask, type TokenExamples } from '../core/token-examples.js';
import { DATA_DIR_ENV, DOWNLOAD_SCRIPT, dataRoots, isFile, missingDatasetError, sha256 } from '../core/data-files.js';
import { BERT_TOKENIZER_DIR, findTokenizer, loadWordPiece } from './wordpiece.js';
import type { WordPiece } from './wordpiece.js';

export const GLUE_TASKS = ['sst2', 'qqp'] as const;
export type GlueTaskName = (typeof GLUE_TASKS)[number];
/** GLUE's folder names. */
export const GLUE_FOLDERS: Record<GlueTaskName, string> = { sst2: 'SST-2', qqp: 'QQP' };
const COLUMNS: Record<GlueTaskName, { text: string[]; label: string }> = {
  sst2: { text: ['sentence'], label: 'label' },
  qqp: { text: ['question1', 'question2'], label: 'is_duplicate' },
};

/** GLUE SST-2's and QQP's part of a config. */
export const glueTaskSchema = taskSchema({
  name: oneOf(GLUE_TASKS),
  /** The task folder (train.tsv, dev.tsv) or a folder holding SST-2/ or QQP/. */
  path: nonEmptyString().optional(),
  /** tokenizer.json, vocab.txt, or a folder holding one (bert-base-uncased). */
  tokenizer: nonEmptyString().optional(),
  /** Sequence length after pad/cut, [CLS] and [SEP] included (default 128). */
  maxLen: withDefault(int(2), 128),
  /** Where the [PAD]s go (default 'post', as `padding="max_length"`). */
  padding: withDefault(oneOf(['pre', 'post'] as const), 'post'),
  /** Training order: a fresh permutation per epoch, or class-balanced draws with replacement. */
  sampler: withDefault(oneOf(['shuffle', 'balanced'] as const), 'shuffle'),
  trainSize: int(1).optional(),
  valSize: int(1).optional(),
  testSize: int(1).optional(),
});

export type GlueTaskConfig = z.input<typeof glueTaskSchema>;

export const F1_METRIC: MetricDefinition = {
  name: 'f1',
  description: 'F1 score of class 1 (QQP: duplicate) with logit > 0 as the prediction: 2·TP / (2·TP + FP + FN)',
  higherIsBetter: true,
  unit: 'fraction',
};

interface TsvSplit {
  file: string;
  texts: string[];
  labels: Int32Array;
  /** Rows skipped for a wrong number of fields (QQP's train.tsv has a few). */
  skipped: number;
  checksum: string;
}

/** Read a GLUE TSV: header, then rows of tab-separated fields (no quoting), labels 0/1. */
export function readGlueTsv(file: string, task: GlueTaskName): TsvSplit {
  const bytes = readFileSync(file);
  const lines = bytes.toString('utf8').split('\n');
  const header = (lines[0] ?? '').replace(/\r$/, '').split('\t');
  const { text, label } = COLUMNS[task];
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${file}: line 1: no column '${name}' in the header (got ${header.map((h) => `'${h}'`).join(', ')}; expected GLUE's ${GLUE_FOLDERS[task]} TSV with ${[...text, label].join(', ')})`);
    return i;
  };
  const textCols = text.map(col);
  const labelCol = col(label);
  const texts: string[] = [];
  const labels: number[] = [];
  let skipped = 0;
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k].replace(/\r$/, '');
    if (line === '') continue;
    const f = line.split('\t');
    if (f.length !== header.length) {
      skipped++;
      continue;
    }
    const y = f[labelCol];
    if (y !== '0' && y !== '1') throw new Error(`${file}: line ${k + 1}: column '${label}': expected 0 or 1, got '${y}'`);
    labels.push(y === '1' ? 1 : 0);
    // The reference joins QQP's questions as q1 + sep + sep + q2 before tokenizing.
    texts.push(textCols.map((c) => f[c]).join('[SEP][SEP]'));
  }
  if (texts.length === 0) throw new Error(`${file}: no examples after the header`);
  return { file, texts, labels: Int32Array.from(labels), skipped, checksum: sha256(bytes) };
}

/** The task folder holding train.tsv and dev.tsv, and every path tried. */
export function findGlue(task: GlueTaskName, configPath: string | undefined, dataDir: string | undefined): { dir: string | null; tried: string[] } {
  const tried: string[] = [];
  const folder = GLUE_FOLDERS[task];
  for (const { root } of dataRoots(configPath, dataDir)) {
    for (const dir of [root, join(root, folder), join(root, 'glue', folder)]) {
      if (isFile(join(dir, 'train.tsv')) && isFile(join(dir, 'dev.tsv'))) return { dir, tried };
      tried.push(`${dir}/{train,dev}.tsv`);
    }
  }
  return { dir: null, tried };
}

const prepared = new Map<string, TokenExamples>();

export class GlueTask extends TokenClassificationTask {
  readonly name: GlueTaskName;
  readonly metrics: readonly MetricDefinition[];
  readonly T: number;
  readonly vocabSize: number;
  readonly padding: 'pre' | 'post';
  readonly sampler: 'shuffle' | 'balanced';
  readonly dir: string;
  readonly tokenizer: WordPiece;
  private readonly files: Record<'train' | 'dev', TsvSplit>;
  protected readonly splits: Record<Split, TokenExamples>;
  protected readonly exampleNoun: string;

  constructor(cfg: GlueTaskConfig | Readonly<Record<string, unknown>>, opts: { dataDir?: string; path?: string } = {}) {
    super();
    const path = opts.path ?? 'task';
    const c = parseTaskPart(glueTaskSchema, cfg, path);
    this.name = c.name;
    this.exampleNoun = this.name === 'qqp' ? 'question pair' : 'sentence';
    this.metrics = this.name === 'qqp' ? [LOSS_METRIC, ACCURACY_METRIC, F1_METRIC] : [LOSS_METRIC, ACCURACY_METRIC];
    this.T = c.maxLen;
    this.padding = c.padding;
    this.sampler = c.sampler;
    const sizes = { train: c.trainSize, val: c.valSize, test: c.testSize };
    const { path: configPath, tokenizer: tokenizerPath } = c;

    // Both files are looked for before anything is read: one error lists everything missing.
    const data = findGlue(this.name, configPath, opts.dataDir);
    const roots = tokenizerPath ? [dataRoots(tokenizerPath, undefined)[0].root] : dataRoots(configPath, opts.dataDir).map((r) => r.root);
    const tk = findTokenizer(roots);
    const folder = GLUE_FOLDERS[this.name];
    const problems: Error[] = [];
    if (!data.dir) {
      problems.push(
        missingDatasetError(
          this.name,
          data.tried,
          `Expected GLUE's ${folder}/train.tsv and ${folder}/dev.tsv. Get them with \`${DOWNLOAD_SCRIPT} ${this.name} <dir>\`, then set the task's \`path\` or ${DATA_DIR_ENV}=<dir>.`,
        ),
      );
    }
    if (!tk.file) {
      problems.push(
        new Error(
          `${this.name}: bert-base-uncased tokenizer not found. Tried:\n${tk.tried.map((t) => `  - ${t}`).join('\n') || '  (no path given: set the task key `tokenizer`, `path` or ORTHOQUANT_DATA_DIR)'}\n` +
            `Expected Hugging Face's tokenizer.json or vocab.txt of bert-base-uncased (nothing is downloaded at run time). Get them with \`${DOWNLOAD_SCRIPT} ${this.name} <dir>\` (into <dir>/${BERT_TOKENIZER_DIR}/), ` +
            `or copy them from a local Hugging Face cache; then set ${path}.tokenizer or ${DATA_DIR_ENV}=<dir>.`,
        ),
      );
    }
    if (problems.length) throw new Error(problems.map((e) => e.message).join('\n'));
    this.dir = data.dir!;
    this.tokenizer = loadWordPiece(tk.file!);
    this.vocabSize = this.tokenizer.vocabSize;

    const started = Date.now();
    this.files = { train: readGlueTsv(join(this.dir, 'train.tsv'), this.name), dev: readGlueTsv(join(this.dir, 'dev.tsv'), this.name) };
    const pick = (split: Split, file: TsvSplit): number => {
      const want = sizes[split];
      if (want !== undefined && want > file.labels.length) throw configError(`${path}.${split}Size`, `an integer in [1, ${file.labels.length}] (the examples of ${file.file})`, want);
      return want ?? file.labels.length;
    };
    const train = this.prepare(this.files.train, pick('train', this.files.train));
    const dev = this.prepare(this.files.dev, Math.max(pick('val', this.files.dev), pick('test', this.files.dev)));
    this.splits = { train, val: this.slice(dev, pick('val', this.files.dev)), test: this.slice(dev, pick('test', this.files.dev)) };
    for (const f of Object.values(this.files)) if (f.skipped) log().warn({ file: f.file, skipped: f.skipped }, `${this.name}: rows with a wrong number of fields skipped`);
    log().debug({ dir: this.dir, tokenizer: this.tokenizer.file, ms: Date.now() - started }, `${this.name}: loaded`);
  }

  /** WordPiece ids of the first `n` examples (cached per file, tokenizer and length). */
  private prepare(file: TsvSplit, n: number): TokenExamples {
    const key = `${file.checksum}:${this.tokenizer.checksum}:${this.T}:${n}`;
    const hit = prepared.get(key);
    if (hit) return hit;
    const { cls, sep } = this.tokenizer;
    const chunks: Int32Array[] = [];
    const offsets = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) {
      // encodeFixed's ids without the padding: [CLS] + the first T − 2 pieces + [SEP].
      const ids = this.tokenizer.pieces(file.texts[i]);
      const keep = Math.min(ids.length, this.T - 2);
      const row = new Int32Array(keep + 2);
      row[0] = cls;
      for (let k = 0; k < keep; k++) row[1 + k] = ids[k];
      row[keep + 1] = sep;
      chunks.push(row);
      offsets[i + 1] = offsets[i] + row.length;
    }
    const flat = new Int32Array(offsets[n]);
    chunks.forEach((ch, i) => flat.set(ch, offsets[i]));
    const out = { flat, offsets, labels: file.labels.slice(0, n) };
    prepared.set(key, out);
    return out;
  }

  private slice(s: TokenExamples, n: number): TokenExamples {
    return { flat: s.flat.subarray(0, s.offsets[n]), offsets: s.offsets.subarray(0, n + 1), labels: s.labels.subarray(0, n) };
  }

  override epochBatches(split: Split, batchSize: number, rng?: Rng, opts: EpochOptions = {}): IterableIterator<Batch> {
    if (split !== 'train' || this.sampler === 'shuffle') return super.epochBatches(split, batchSize, rng, opts);
    return this.balancedEpoch(batchSize, rng, opts);
  }

  /** Class-balanced training draws: n indices with replacement, P(class) equal, uniform within. */
  private *balancedEpoch(batchSize: number, rng: Rng | undefined, opts: EpochOptions): IterableIterator<Batch> {
    const where = `${this.name}.epochBatches`;
    checkBatchSize(batchSize, where);
    if (!rng) throw new Error(`${where}: the balanced sampler draws each epoch: pass an Rng (e.g. createRng(seed).fork('epoch/3'))`);
    const byClass = this.classIndices();
    const n = this.numExamples('train');
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const members = byClass[rng.int(byClass.length)];
      order[i] = members[rng.int(members.length)];
    }
    const count = exampleBatchCount(n, batchSize, opts);
    for (let k = 0; k < count; k++) yield this.batch('train', order.subarray(k * batchSize, Math.min(n, (k + 1) * batchSize)));
  }

  /** Training indices of each class present (classes without examples are never drawn). */
  private classIndices(): Int32Array[] {
    const y = this.splits.train.labels;
    const lists: number[][] = [[], []];
    y.forEach((v, i) => lists[v].push(i));
    return lists.filter((l) => l.length > 0).map((l) => Int32Array.from(l));
  }

  protected override padId(): number {
    return this.tokenizer.pad;
  }

  describe(): TaskDescription {
    return {
      name: this.name,
      dir: this.dir,
      trainChecksum: this.files.train.checksum,
      devChecksum: this.files.dev.checksum,
      skippedRows: { train: this.files.train.skipped, dev: this.files.dev.skipped },
      tokenizer: { file: this.tokenizer.file, format: this.tokenizer.format, checksum: this.tokenizer.checksum, vocabSize: this.vocabSize },
      maxLen: this.T,
      padding: this.padding,
      ids: `[CLS] WordPiece… [SEP] cut to ${this.T}, [PAD] = ${this.tokenizer.pad}${this.name === 'qqp' ? '; question1 [SEP] [SEP] question2 in one sequence' : ''}`,
      sampler: this.sampler,
      split: 'train = train.tsv; val = test = dev.tsv (GLUE test labels are hidden; val may keep fewer examples)',
      trainSize: this.numExamples('train'),
      valSize: this.numExamples('val'),
      testSize: this.numExamples('test'),
    };
  }
}
