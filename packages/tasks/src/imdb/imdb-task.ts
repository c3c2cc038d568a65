/**
 * IMDB sentiment (binary), words as token ids for an embedding layer, prediction at the
 * last step — as Keras's `imdb.load_data(num_words=vocabSize)` + `pad_sequences(maxlen)`,
 * which the HadamRNN reference's data file comes from.
 *
 * Sources (first found wins; `format` may force one):
 * - Keras `imdb.npz`: object arrays `x_train`, `x_test` of word ranks (1 = most frequent),
 *   int labels `y_train`, `y_test`.
 * - The Stanford `aclImdb/{train,test}/{neg,pos}/*.txt` folder: reviews tokenised here
 *   (lower case, `<br />` removed, words = runs of letters/digits with inner apostrophes),
 *   ranks by frequency over the training split (ties: alphabetical). Ids differ from Keras's
 *   (its word index came from another tokeniser) but follow the same scheme.
 * Looked for in: the config's `path` (an .npz file, an aclImdb folder, or a folder holding
 * `imdb.npz` or `aclImdb/`), then `<dataDir>`, then `$ORTHOQUANT_DATA_DIR`.
 *
 * Preparation (Keras's steps): train and test order shuffled by one numpy
 * `RandomState(shuffleSeed = 113)` (train first, then test); each review becomes
 * [1 (start)] + (rank + 3); ids ≥ vocabSize become 2 (OOV); 0 is padding; 3 is never used.
 * Then pad / cut to `maxLen` — `pre` by default for both (zeros in front, the last maxLen
 * words kept), as pad_sequences and the reference's `x[:, -500:]`.
 * Splits: train = the 25,000 training reviews; the 25,000 test reviews are split as the
 * reference does: val = the last half, test = the first half (12,500 each).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { int, log, nonEmptyString, oneOf } from '@orthoquant/runtime';
import { ACCURACY_METRIC, LOSS_METRIC } from '../core/task.js';
import type { MetricDefinition, Split, TaskDescription } from '../core/task.js';
import { configError, parseTaskPart, taskSchema, withDefault } from '../core/config.js';
import { TokenClassificationTask, type TokenExamples } from '../core/token-examples.js';
import { DATA_DIR_ENV, DOWNLOAD_SCRIPT, dataRoots, isDirectory, isFile, missingDatasetError, sha256 } from '../core/data-files.js';
import { NumpyRandomState } from '../core/numpy-random-state.js';
import { readNpz } from './npz.js';
import type { NpyArray } from './npz.js';

export const IMDB_PAD = 0;
export const IMDB_START = 1;
export const IMDB_OOV = 2;
export const IMDB_INDEX_FROM = 3;
export const IMDB_SHUFFLE_SEED = 113;

const PAD_SIDES = ['pre', 'post'] as const;

/** IMDB's part of a config. */
export const imdbTaskSchema = taskSchema({
  name: z.literal('imdb'),
  /** An imdb.npz file, an aclImdb folder, or a folder holding either. */
  path: nonEmptyString().optional(),
  /** Default 'auto' (npz first). */
  format: withDefault(oneOf(['auto', 'npz', 'aclImdb'] as const), 'auto'),
  /** Token ids in [0, vocabSize) (default 10000). */
  vocabSize: withDefault(int(IMDB_INDEX_FROM + 2, 2 ** 31 - 1, { brackets: true }), 10000),
  /** Sequence length after pad/cut (default 500). */
  maxLen: withDefault(int(1), 500),
  padding: withDefault(oneOf(PAD_SIDES), 'pre'),
  truncating: withDefault(oneOf(PAD_SIDES), 'pre'),
  /** Keep the first N examples of a split (defaults 25000 / 12500 / 12500). */
  trainSize: int(1).optional(),
  valSize: int(1).optional(),
  testSize: int(1).optional(),
  /** numpy RandomState seed of the Keras shuffle (default 113). */
  shuffleSeed: withDefault(int(0, 0xffffffff, { brackets: true }), IMDB_SHUFFLE_SEED),
});

export type ImdbTaskConfig = z.input<typeof imdbTaskSchema>;

/** Reviews as word ranks (1 = most frequent; Infinity = unknown word), before the Keras steps. */
export interface RawImdb {
  format: 'npz' | 'aclImdb';
  path: string;
  trainSeqs: ArrayLike<number>[];
  trainLabels: Int32Array;
  testSeqs: ArrayLike<number>[];
  testLabels: Int32Array;
  checksum: string;
}

/** Where a dataset was looked for, and the source found (or null). */
export function findImdb(configPath: string | undefined, dataDir: string | undefined, format: 'auto' | 'npz' | 'aclImdb'): { found: { format: 'npz' | 'aclImdb'; path: string } | null; tried: string[] } {
  const tried: string[] = [];
  for (const { root } of dataRoots(configPath, dataDir)) {
    const candidates: { format: 'npz' | 'aclImdb'; path: string }[] = [];
    if (format !== 'aclImdb') candidates.push({ format: 'npz', path: root.endsWith('.npz') ? root : join(root, 'imdb.npz') });
    if (format !== 'npz') candidates.push({ format: 'aclImdb', path: root }, { format: 'aclImdb', path: join(root, 'aclImdb') });
    for (const c of candidates) {
      if (c.format === 'npz' ? isFile(c.path) : isDirectory(join(c.path, 'train', 'pos'))) return { found: c, tried };
      tried.push(c.format === 'npz' ? c.path : `${c.path}/{train,test}/{pos,neg}/*.txt`);
    }
  }
  return { found: null, tried };
}

const rawCache = new Map<string, RawImdb>();

export function loadRawImdb(source: { format: 'npz' | 'aclImdb'; path: string }): RawImdb {
  const key = `${source.format}:${source.path}`;
  const hit = rawCache.get(key);
  if (hit) return hit;
  const raw = source.format === 'npz' ? readImdbNpz(source.path) : readAclImdb(source.path);
  rawCache.set(key, raw);
  return raw;
}

function readImdbNpz(file: string): RawImdb {
  const bytes = readFileSync(file);
  const arrays = readNpz(bytes, file);
  const get = (name: string): NpyArray => {
    const a = arrays.get(name);
    if (!a) throw new Error(`${file}: no array '${name}' (found ${[...arrays.keys()].join(', ') || 'none'}; expected x_train, y_train, x_test, y_test as in Keras's imdb.npz)`);
    return a;
  };
  const seqs = (name: string): ArrayLike<number>[] => {
    const a = get(name);
    if (a.objects) {
      return a.objects.map((s, i) => {
        if (!Array.isArray(s) || s.some((w) => typeof w !== 'number' || !Number.isInteger(w) || w < 0)) throw new Error(`${file}: ${name}[${i}]: expected a list of non-negative integer word ranks`);
        return s as number[];
      });
    }
    if (a.shape.length !== 2) throw new Error(`${file}: ${name}: expected an object array of lists or a 2-d integer array, got shape [${a.shape.join(', ')}]`);
    const [n, L] = a.shape;
    return Array.from({ length: n }, (_, i) => a.numbers!.subarray(i * L, (i + 1) * L));
  };
  const labels = (name: string, n: number): Int32Array => {
    const a = get(name);
    if (!a.numbers || a.numbers.length !== n) throw new Error(`${file}: ${name}: expected ${n} numeric labels, got ${a.numbers ? a.numbers.length : `dtype ${a.descr}`}`);
    const out = Int32Array.from(a.numbers);
    const bad = out.findIndex((v) => v !== 0 && v !== 1);
    if (bad >= 0) throw new Error(`${file}: ${name}[${bad}] = ${out[bad]}, expected 0 or 1`);
    return out;
  };
  const trainSeqs = seqs('x_train');
  const testSeqs = seqs('x_test');
  return { format: 'npz', path: file, trainSeqs, trainLabels: labels('y_train', trainSeqs.length), testSeqs, testLabels: labels('y_test', testSeqs.length), checksum: sha256(bytes) };
}

/** Words of a review: lower case, `<br />` removed, letters/digits with inner apostrophes. */
export function tokenizeReview(text: string): string[] {
  return text.toLowerCase().replace(/<br\s*\/?>/g, ' ').match(/[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*/gu) ?? [];
}

function readAclImdb(dir: string): RawImdb {
  const read = (split: 'train' | 'test') => {
    const texts: string[] = [];
    const labels: number[] = [];
    for (const [label, sub] of [[0, 'neg'], [1, 'pos']] as const) {
      const folder = join(dir, split, sub);
      if (!isDirectory(folder)) throw new Error(`${folder}: missing folder (expected aclImdb/{train,test}/{pos,neg}/*.txt)`);
      // Files are <id>_<rating>.txt: numeric id order.
      const names = readdirSync(folder).filter((f) => f.endsWith('.txt'));
      names.sort((a, b) => parseInt(a, 10) - parseInt(b, 10) || (a < b ? -1 : a > b ? 1 : 0));
      for (const name of names) {
        texts.push(readFileSync(join(folder, name), 'utf8'));
        labels.push(label);
      }
    }
    if (texts.length === 0) throw new Error(`${join(dir, split)}: no reviews (*.txt) under pos/ and neg/`);
    return { tokens: texts.map(tokenizeReview), labels: Int32Array.from(labels) };
  };
  const train = read('train');
  const test = read('test');
  const counts = new Map<string, number>();
  for (const review of train.tokens) for (const w of review) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts.keys()].sort((a, b) => counts.get(b)! - counts.get(a)! || (a < b ? -1 : a > b ? 1 : 0));
  const rank = new Map(words.map((w, i) => [w, i + 1]));
  const toRanks = (review: string[]) => review.map((w) => rank.get(w) ?? Infinity);
  const digest = sha256(new TextEncoder().encode(words.slice(0, 100_000).join('\n')));
  return {
    format: 'aclImdb',
    path: dir,
    trainSeqs: train.tokens.map(toRanks),
    trainLabels: train.labels,
    testSeqs: test.tokens.map(toRanks),
    testLabels: test.labels,
    checksum: `vocabulary sha256 ${digest}, ${train.labels.length}+${test.labels.length} reviews`,
  };
}

export class ImdbTask extends TokenClassificationTask {
  readonly name = 'imdb' as const;
  readonly metrics: readonly MetricDefinition[] = [LOSS_METRIC, ACCURACY_METRIC];
  readonly T: number;
  readonly vocabSize: number;
  readonly padding: 'pre' | 'post';
  readonly truncating: 'pre' | 'post';
  readonly shuffleSeed: number;
  readonly raw: RawImdb;
  protected readonly splits: Record<Split, TokenExamples>;
  protected readonly exampleNoun = 'review';

  constructor(cfg: ImdbTaskConfig | Readonly<Record<string, unknown>>, opts: { dataDir?: string; path?: string } = {}) {
    super();
    const path = opts.path ?? 'task';
    const c = parseTaskPart(imdbTaskSchema, cfg, path);
    this.vocabSize = c.vocabSize;
    this.T = c.maxLen;
    this.padding = c.padding;
    this.truncating = c.truncating;
    this.shuffleSeed = c.shuffleSeed;
    const { found, tried } = findImdb(c.path, opts.dataDir, c.format);
    if (!found) {
      throw missingDatasetError('imdb', tried, `Expected Keras's imdb.npz or the Stanford aclImdb folder. Get them with \`${DOWNLOAD_SCRIPT} imdb <dir>\`, then set the task's \`path\` or ${DATA_DIR_ENV}=<dir>.`);
    }
    const started = Date.now();
    this.raw = loadRawImdb(found);
    const rs = new NumpyRandomState(this.shuffleSeed);
    const trainOrder = rs.permutation(this.raw.trainSeqs.length);
    const testOrder = rs.permutation(this.raw.testSeqs.length);
    const nTest = testOrder.length;
    const nVal = Math.floor(nTest / 2);
    // Reference: val = x_test[-val_size:], test = x_test[:test_size].
    const full: Record<Split, Int32Array> = {
      train: trainOrder,
      val: testOrder.subarray(nTest - nVal),
      test: testOrder.subarray(0, nTest - nVal),
    };
    const sizes: Record<Split, number> = { train: 0, val: 0, test: 0 };
    for (const split of ['train', 'val', 'test'] as const) {
      const want = c[`${split}Size`];
      if (want !== undefined && want > full[split].length) throw configError(`${path}.${split}Size`, `an integer in [1, ${full[split].length}] (the ${split} split of ${found.path})`, want);
      sizes[split] = want ?? full[split].length;
    }
    this.splits = {
      train: this.prepare(this.raw.trainSeqs, this.raw.trainLabels, full.train.subarray(0, sizes.train)),
      val: this.prepare(this.raw.testSeqs, this.raw.testLabels, full.val.subarray(0, sizes.val)),
      test: this.prepare(this.raw.testSeqs, this.raw.testLabels, full.test.subarray(0, sizes.test)),
    };
    log().debug({ source: found, ms: Date.now() - started }, 'imdb: loaded');
  }

  /** Keras's steps for the chosen examples: start id, rank + 3, OOV, then truncation. */
  private prepare(seqs: ArrayLike<number>[], labels: Int32Array, order: Int32Array): TokenExamples {
    const n = order.length;
    const offsets = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + Math.min(this.T, seqs[order[i]].length + 1);
    const flat = new Int32Array(offsets[n]);
    const out = new Int32Array(n);
    const V = this.vocabSize;
    for (let i = 0; i < n; i++) {
      const s = seqs[order[i]];
      const len = s.length + 1;
      const keep = offsets[i + 1] - offsets[i];
      const from = this.truncating === 'pre' ? len - keep : 0;
      for (let k = 0; k < keep; k++) {
        const pos = from + k;
        const id = pos === 0 ? IMDB_START : s[pos - 1] + IMDB_INDEX_FROM;
        flat[offsets[i] + k] = id < V ? id : IMDB_OOV;
      }
      out[i] = labels[order[i]];
    }
    return { flat, offsets, labels: out };
  }

  describe(): TaskDescription {
    return {
      name: 'imdb',
      format: this.raw.format,
      path: this.raw.path,
      checksum: this.raw.checksum,
      vocabSize: this.vocabSize,
      maxLen: this.T,
      padding: this.padding,
      truncating: this.truncating,
      ids: `0 pad, ${IMDB_START} start, ${IMDB_OOV} OOV (ids ≥ vocabSize), word of frequency rank r → r + ${IMDB_INDEX_FROM}`,
      shuffle: `numpy RandomState(${this.shuffleSeed}): permutation of train, then of test (Keras load_data)`,
      split: 'val = last half of the shuffled test set, test = first half (reference)',
      trainSize: this.numExamples('train'),
      valSize: this.numExamples('val'),
      testSize: this.numExamples('test'),
    };
  }
}
