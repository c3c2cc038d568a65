/**
 * @orthoquant/tasks/testing — fixtures for tests (kept out of the main barrel): tiny
 * datasets written in the real on-disk formats, in a temporary folder.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createRng } from '@orthoquant/runtime';

/** A fresh temporary folder; `cleanup()` removes it. */
export function tempDir(prefix = 'orthoquant-tasks-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `fn` with a fresh temporary folder, removed afterwards whatever `fn` does. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>, prefix?: string): Promise<T> {
  const tmp = tempDir(prefix);
  try {
    return await fn(tmp.dir);
  } finally {
    tmp.cleanup();
  }
}

/** IDX bytes: magic 0x0000 08 <rank>, big-endian dims, unsigned-byte data. */
export function idxBytes(dims: number[], data: Uint8Array): Uint8Array {
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x0800 | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, header);
  return out;
}

export interface MnistFixture {
  dir: string;
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
}

/** Four IDX files of random 28×28 images (labels cycle 0..9) in `dir`, optionally gzipped. */
export function writeMnistFixture(dir: string, opts: { nTrain?: number; nTest?: number; gzip?: boolean; seed?: number } = {}): MnistFixture {
  const { nTrain = 60, nTest = 20, gzip = false, seed = 1 } = opts;
  mkdirSync(dir, { recursive: true });
  const rng = createRng(seed);
  const images = (n: number) => Uint8Array.from({ length: n * 784 }, () => rng.int(256));
  const labels = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 10);
  const fx: MnistFixture = { dir, trainImages: images(nTrain), trainLabels: labels(nTrain), testImages: images(nTest), testLabels: labels(nTest) };
  const put = (name: string, bytes: Uint8Array) => writeFileSync(join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(bytes) : bytes);
  put('train-images-idx3-ubyte', idxBytes([nTrain, 28, 28], fx.trainImages));
  put('train-labels-idx1-ubyte', idxBytes([nTrain], fx.trainLabels));
  put('t10k-images-idx3-ubyte', idxBytes([nTest, 28, 28], fx.testImages));
  put('t10k-labels-idx1-ubyte', idxBytes([nTest], fx.testLabels));
  return fx;
}

/** A tiny Stanford-format `aclImdb` folder: {train,test}/{pos,neg}/<id>_<rating>.txt. */
export function writeAclImdbFixture(root: string): string {
  const dir = join(root, 'aclImdb');
  const reviews: Record<'train' | 'test', Record<'pos' | 'neg', string[]>> = {
    train: {
      pos: ['A great, great film.<br /><br />Loved it!', "Great acting; it's a great story", 'great fun'],
      neg: ['Bad film. Bad acting.', "It's bad, really bad<br />boring", 'boring and bad'],
    },
    test: {
      pos: ['Great film', 'a great unseen masterpiece'],
      neg: ['bad bad bad', 'boring film'],
    },
  };
  for (const split of ['train', 'test'] as const) {
    for (const sub of ['pos', 'neg'] as const) {
      const folder = join(dir, split, sub);
      mkdirSync(folder, { recursive: true });
      // Ids 10, 2, ...: numeric order differs from the string order on purpose.
      reviews[split][sub].forEach((text, i) => writeFileSync(join(folder, `${i === 0 ? 10 : i + 1}_${sub === 'pos' ? 8 : 2}.txt`), text));
    }
  }
  return dir;
}

/** Tiny `ptb.char.{train,valid,test}.txt` (and the word-level `ptb.*.txt` with the same text). */
export function writePtbFixture(dir: string): { train: string[]; valid: string[]; test: string[] } {
  mkdirSync(dir, { recursive: true });
  const text = {
    train: ['the cat sat', 'a dog ran to the cat', 'no <unk> here'],
    valid: ['the dog sat'],
    test: ['a cat ran', 'the end'],
  };
  for (const [split, lines] of Object.entries(text)) {
    writeFileSync(join(dir, `ptb.char.${split}.txt`), lines.map((l) => ` ${[...l.replace(/ /g, '_')].join(' ')} `).join('\n') + '\n');
    writeFileSync(join(dir, `ptb.${split}.txt`), lines.map((l) => ` ${l} `).join('\n') + '\n');
  }
  return text;
}

/** A tiny BERT-style vocabulary (special tokens first, as bert-base-uncased's vocab.txt). */
export const TINY_BERT_VOCAB: readonly string[] = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]',
  'the', 'movie', 'film', 'was', 'is', 'great', 'good', 'bad', '##ly', 'boring', 'fun', 'un', '##believ', '##able',
  'what', 'how', 'do', 'i', 'a', 'learn', 'to', 'cook', 'code', 'best', 'way', '?', '!', '.', ',', 'cafe',
];

/**
 * GLUE fixtures in the real layout: `<dir>/SST-2/{train,dev}.tsv`, `<dir>/QQP/{train,dev}.tsv`
 * and `<dir>/bert-base-uncased/vocab.txt` (the tiny vocabulary above).
 */
export function writeGlueFixture(dir: string): { sst2: { train: [string, number][]; dev: [string, number][] }; qqp: { train: [string, string, number][]; dev: [string, string, number][] } } {
  const sst2 = {
    train: [
      ['the movie was great !', 1],
      ['a boring film .', 0],
      ['unbelievable fun', 1],
      ['the film is badly bad', 0],
      ['great , great fun', 1],
      ['Boring. Bad.', 0],
      ['the best movie', 1],
      ['a Café movie', 1],
    ] as [string, number][],
    dev: [
      ['great movie', 1],
      ['bad film', 0],
      ['what a fun film !', 1],
    ] as [string, number][],
  };
  const qqp = {
    train: [
      ['How do I learn to code?', 'What is the best way to learn to code?', 1],
      ['How do I cook?', 'How do I learn to code?', 0],
      ['What is a movie?', 'What is a film?', 1],
      ['How do I cook?', 'What is the best way to cook?', 1],
      ['What is the best movie?', 'How do I code?', 0],
    ] as [string, string, number][],
    dev: [
      ['How do I code?', 'How do I learn to code?', 1],
      ['What is a film?', 'How do I cook?', 0],
    ] as [string, string, number][],
  };
  const put = (folder: string, name: string, text: string) => {
    mkdirSync(join(dir, folder), { recursive: true });
    writeFileSync(join(dir, folder, name), text);
  };
  for (const split of ['train', 'dev'] as const) {
    put('SST-2', `${split}.tsv`, 'sentence\tlabel\n' + sst2[split].map(([s, y]) => `${s}\t${y}\n`).join(''));
    put('QQP', `${split}.tsv`, 'id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n' + qqp[split].map(([a, b, y], i) => `${i}\t${2 * i + 1}\t${2 * i + 2}\t${a}\t${b}\t${y}\n`).join(''));
  }
  // A malformed QQP row (a missing field), as GLUE's QQP train.tsv has a few: skipped.
  writeFileSync(join(dir, 'QQP', 'train.tsv'), `${readFileSync(join(dir, 'QQP', 'train.tsv'), 'utf8')}99\t1\t2\tHow do I cook?\t1\n`);
  put('bert-base-uncased', 'vocab.txt', TINY_BERT_VOCAB.join('\n') + '\n');
  return { sst2, qqp };
}
