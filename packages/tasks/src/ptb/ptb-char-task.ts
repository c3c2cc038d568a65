/**
 * Penn Treebank, character level: next-character prediction, bits per character.
 *
 * Files (Mikolov's `simple-examples/data`): `ptb.char.{train,valid,test}.txt`, one sentence
 * per line, characters separated by spaces, `_` between words (format `chars`, default).
 * Format `raw` reads the word-level `ptb.{train,valid,test}.txt` instead, every character a
 * symbol and spaces written as `_`, so both give the same stream. Each line ends with an
 * end-of-line symbol `\n`. The vocabulary is the sorted set of training symbols; a symbol of
 * valid/test not in it is an error naming file and line.
 * Looked for in: the config's `path`, `<dataDir>`, `$ORTHOQUANT_DATA_DIR`, each as is and
 * with `ptb/` or `simple-examples/data/` appended.
 *
 * Batches (truncated BPTT): a split is one stream of N symbols; with batch size B it is cut
 * into B contiguous rows of L = ⌊(N − 1)/B⌋ steps (row b starts at b·L); batch w holds steps
 * [w·bptt, min((w+1)·bptt, L)) of every row, so batch w+1 continues batch w row by row
 * (`consecutiveBatches`; `resetState` on the first). Targets are the next symbols. The last
 * window can be shorter than bptt. Shuffling does not apply: epochs ignore the rng.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { int, nonEmptyString, oneOf } from '@orthoquant/runtime';
import type { Rng } from '@orthoquant/runtime';
import { ACCURACY_METRIC, LOSS_METRIC, checkBatchSize, checkSplit, oneHotBatch } from '../core/task.js';
import type { Baseline, Batch, EpochOptions, MetricDefinition, Split, Task, TaskDescription } from '../core/task.js';
import { configError, parseTaskPart, taskSchema, withDefault } from '../core/config.js';
import { DATA_DIR_ENV, DOWNLOAD_SCRIPT, dataRoots, isFile, missingDatasetError, sha256 } from '../core/data-files.js';

export const PTB_EOL = '\n';
export const PTB_WORD_BOUNDARY = '_';

/** Penn Treebank characters' part of a config. */
export const ptbCharTaskSchema = taskSchema({
  name: z.literal('ptb-char'),
  /** Folder with the files (see the search order above). */
  path: nonEmptyString().optional(),
  /** `chars` (ptb.char.*.txt, default) or `raw` (ptb.*.txt). */
  format: withDefault(oneOf(['chars', 'raw'] as const), 'chars'),
  /** Window length of truncated BPTT (default 150). */
  bptt: withDefault(int(1), 150),
  /** Token ids for an embedding (default) or one-hot float inputs. */
  input: withDefault(oneOf(['tokens', 'one-hot'] as const), 'tokens'),
  /** Keep only the first N symbols of the training stream (cheap runs). */
  trainSize: int(2).optional(),
});

export type PtbCharTaskConfig = z.input<typeof ptbCharTaskSchema>;

const FILE_SPLIT: Record<Split, string> = { train: 'train', val: 'valid', test: 'test' };

function fileName(format: 'chars' | 'raw', split: Split): string {
  return format === 'chars' ? `ptb.char.${FILE_SPLIT[split]}.txt` : `ptb.${FILE_SPLIT[split]}.txt`;
}

/** Symbols of one line (without the end-of-line symbol). */
export function ptbLineSymbols(line: string, format: 'chars' | 'raw'): string[] {
  if (format === 'raw') return [...line.trim().replace(/ +/g, PTB_WORD_BOUNDARY)];
  return line.split(/\s+/).filter((s) => s !== '');
}

export class PtbCharTask implements Task {
  readonly name = 'ptb-char' as const;
  readonly outputMode = 'many-to-many' as const;
  readonly loss = 'softmax-cross-entropy' as const;
  readonly consecutiveBatches = true;
  readonly metrics: readonly MetricDefinition[] = [
    LOSS_METRIC,
    { name: 'bpc', description: 'bits per character: the mean cross-entropy over every predicted character / ln 2', higherIsBetter: false, unit: 'bits' },
    ACCURACY_METRIC,
  ];
  readonly T: number;
  readonly inputKind: 'tokens' | 'dense';
  readonly inputDim: number;
  readonly vocabSize: number | null;
  readonly numClasses: number;
  readonly outputDim: number;
  /** Symbol of each id (sorted; `\n` is the end of a line). */
  readonly symbols: readonly string[];
  readonly format: 'chars' | 'raw';
  readonly dir: string;
  private readonly streams: Record<Split, Int32Array>;
  private readonly files: { split: Split; path: string; sha256: string; symbols: number }[] = [];

  constructor(cfg: PtbCharTaskConfig | Readonly<Record<string, unknown>>, opts: { dataDir?: string; path?: string } = {}) {
    const path = opts.path ?? 'task';
    const c = parseTaskPart(ptbCharTaskSchema, cfg, path);
    this.format = c.format;
    this.T = c.bptt;
    const { input, trainSize } = c;
    const tried: string[] = [];
    let dir: string | null = null;
    for (const { root } of dataRoots(c.path, opts.dataDir)) {
      for (const d of [root, join(root, 'ptb'), join(root, 'simple-examples', 'data')]) {
        if ((['train', 'val', 'test'] as const).every((s) => isFile(join(d, fileName(this.format, s))))) {
          dir = d;
          break;
        }
        tried.push(join(d, `ptb${this.format === 'chars' ? '.char' : ''}.{train,valid,test}.txt`));
      }
      if (dir) break;
    }
    if (!dir) {
      throw missingDatasetError('ptb-char', tried, `Expected Mikolov's simple-examples/data files. Get them with \`${DOWNLOAD_SCRIPT} ptb <dir>\`, then set the task's \`path\` or ${DATA_DIR_ENV}=<dir>.`);
    }
    this.dir = dir;
    const text: Record<Split, string[][]> = { train: [], val: [], test: [] };
    for (const split of ['train', 'val', 'test'] as const) {
      const file = join(dir, fileName(this.format, split));
      const raw = readFileSync(file);
      const lines = raw.toString('utf8').split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      text[split] = lines.map((l) => ptbLineSymbols(l, this.format));
      if (this.format === 'chars') {
        const i = text[split].findIndex((syms) => syms.some((s) => [...s].length !== 1));
        if (i >= 0) {
          const bad = text[split][i].find((s) => [...s].length !== 1);
          throw new Error(`${file}:${i + 1}: symbol '${bad}' is not one character (format 'chars' expects space-separated characters; use format: 'raw' for ptb.*.txt word files)`);
        }
      }
      this.files.push({ split, path: file, sha256: sha256(raw), symbols: 0 });
    }
    const vocab = new Set<string>([PTB_EOL]);
    for (const line of text.train) for (const s of line) vocab.add(s);
    this.symbols = [...vocab].sort();
    const id = new Map(this.symbols.map((s, i) => [s, i]));
    const eol = id.get(PTB_EOL)!;
    const encode = (split: Split): Int32Array => {
      const lines = text[split];
      const out = new Int32Array(lines.reduce((n, l) => n + l.length + 1, 0));
      let k = 0;
      lines.forEach((line, i) => {
        for (const s of line) {
          const v = id.get(s);
          if (v === undefined) throw new Error(`${join(dir, fileName(this.format, split))}:${i + 1}: symbol '${s}' does not occur in the training file`);
          out[k++] = v;
        }
        out[k++] = eol;
      });
      return out;
    };
    const train = encode('train');
    if (trainSize !== undefined && trainSize > train.length) throw configError(`${path}.trainSize`, `an integer in [2, ${train.length}] (symbols in the training file)`, trainSize);
    this.streams = { train: trainSize ? train.subarray(0, trainSize) : train, val: encode('val'), test: encode('test') };
    for (const f of this.files) f.symbols = this.streams[f.split].length;
    const V = this.symbols.length;
    this.numClasses = V;
    this.outputDim = V;
    this.inputKind = input === 'tokens' ? 'tokens' : 'dense';
    this.inputDim = input === 'tokens' ? 1 : V;
    this.vocabSize = input === 'tokens' ? V : null;
  }

  /** Predicted characters in a split (stream length − 1). */
  numExamples(split: Split): number {
    checkSplit(split, 'ptb-char.numExamples');
    return this.streams[split].length - 1;
  }

  private rowLength(split: Split, batchSize: number): number {
    checkSplit(split, 'ptb-char');
    checkBatchSize(batchSize, 'ptb-char.epochBatches');
    const L = Math.floor((this.streams[split].length - 1) / batchSize);
    if (L < 1) throw new Error(`ptb-char: the ${split} stream (${this.streams[split].length} symbols) is too short for batchSize ${batchSize}`);
    return L;
  }

  numBatches(split: Split, batchSize: number, opts: EpochOptions = {}): number {
    const L = this.rowLength(split, batchSize);
    return opts.dropLast ? Math.floor(L / this.T) : Math.ceil(L / this.T);
  }

  /** Consecutive BPTT windows over the split (the rng is ignored: streams are not shuffled). */
  *epochBatches(split: Split, batchSize: number, _rng?: Rng, opts: EpochOptions = {}): IterableIterator<Batch> {
    const n = this.numBatches(split, batchSize, opts);
    for (let w = 0; w < n; w++) yield this.window(split, batchSize, w);
  }

  /** Window w of the split cut into batchSize rows. */
  window(split: Split, batchSize: number, w: number): Batch {
    const L = this.rowLength(split, batchSize);
    const start = w * this.T;
    if (!Number.isInteger(w) || w < 0 || start >= L) throw new Error(`ptb-char.window(${split}): window ${w} is outside [0, ${Math.ceil(L / this.T)})`);
    const T = Math.min(this.T, L - start);
    const B = batchSize;
    const s = this.streams[split];
    const targets = new Int32Array(T * B);
    const indices = new Int32Array(B);
    const ids = new Int32Array(T * B);
    for (let b = 0; b < B; b++) {
      const base = b * L + start;
      indices[b] = base;
      for (let t = 0; t < T; t++) {
        ids[t * B + b] = s[base + t];
        targets[t * B + b] = s[base + t + 1];
      }
    }
    if (this.inputKind === 'tokens') return { split, inputKind: 'tokens', T, B, tokens: ids, targets, indices, resetState: w === 0 };
    return oneHotBatch({ split, T, B, targets, indices, resetState: w === 0 }, ids, this.inputDim);
  }

  /** Symbols of a split as text (the decoding of its ids). */
  decode(ids: ArrayLike<number>): string {
    return Array.from(ids, (i) => this.symbols[i]).join('');
  }

  stream(split: Split): Int32Array {
    checkSplit(split, 'ptb-char.stream');
    return this.streams[split];
  }

  /** Unigram model of the training stream: the best loss without context. */
  memorylessBaseline(): Baseline {
    const s = this.streams.train;
    const counts = new Float64Array(this.symbols.length);
    for (let i = 1; i < s.length; i++) counts[s[i]]++;
    const n = s.length - 1;
    let h = 0;
    for (const c of counts) if (c > 0) h -= (c / n) * Math.log(c / n);
    return { loss: h, bpc: h / Math.LN2, description: 'entropy of the training characters (unigram model): the loss of predicting character frequencies whatever came before' };
  }

  describe(): TaskDescription {
    return {
      name: 'ptb-char',
      dir: this.dir,
      format: this.format,
      files: this.files.map((f) => ({ split: f.split, path: f.path, sha256: f.sha256, symbols: f.symbols })),
      vocabulary: this.symbols.join(''),
      vocabSize: this.symbols.length,
      endOfLine: 'each line ends with the symbol \\n',
      bptt: this.T,
      input: this.inputKind === 'tokens' ? 'tokens' : 'one-hot',
      batching: 'B contiguous rows of ⌊(N−1)/B⌋ steps; consecutive windows of bptt steps; targets = next symbol',
      trainSymbols: this.streams.train.length,
    };
  }
}
