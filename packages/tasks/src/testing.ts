/**
 * @orthoquant/tasks/testing — fixtures for tests (kept out of the main barrel): tiny
 * datasets written in the real on-disk formats, in a temporary folder.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createRng } from '@orthoquant/runtime';

/** A fresh temporary folder; `cleanup()` removes it. */
export function tempDir(prefix = 'orthoquant-tasks-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
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
