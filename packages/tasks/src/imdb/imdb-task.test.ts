import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng } from '@orthoquant/runtime';
import { ImdbTask, MetricAccumulator, createTask, readNpz, tokenizeReview } from '../index.js';
import { tempDir, writeAclImdbFixture } from '../testing.js';

const tmp = tempDir();
after(() => tmp.cleanup());
const npzPath = fileURLToPath(new URL('./fixtures/imdb-tiny.npz', import.meta.url));
// What Keras's load_data(num_words=8) + pad_sequences(maxlen=5) gives, computed by fixtures/make-imdb-npz.py.
const expected = JSON.parse(readFileSync(new URL('./fixtures/imdb-tiny.expected.json', import.meta.url), 'utf8')) as {
  train: number[][];
  trainLabels: number[];
  test: number[][];
  testLabels: number[];
};

function rows(task: ImdbTask, split: 'train' | 'val' | 'test'): number[][] {
  const n = task.numExamples(split);
  const batch = task.batch(split, Array.from({ length: n }, (_, i) => i));
  return Array.from({ length: n }, (_, b) => Array.from({ length: batch.T }, (_, t) => batch.tokens[t * n + b]));
}

describe('IMDB', () => {
  it("parses Keras's npz layout: object arrays of lists (pickle protocol 2 and numpy's own) and int64 labels", () => {
    const arrays = readNpz(readFileSync(npzPath), npzPath);
    assert.deepEqual(arrays.get('x_train')!.objects![1], [4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(arrays.get('x_test')!.objects![2], [300]);
    assert.equal(arrays.get('y_train')!.descr, '<i8');
    assert.deepEqual(Array.from(arrays.get('y_test')!.numbers!), [0, 1, 1, 0]);
  });

  it('reproduces Keras load_data + pad_sequences exactly (shuffle 113, start/OOV ids, pre-padding), val = last half of test', () => {
    const task = createTask({ name: 'imdb', path: npzPath, vocabSize: 8, maxLen: 5 }) as ImdbTask;
    assert.equal(task.inputKind, 'tokens');
    assert.equal(task.outputDim, 1);
    assert.equal(task.loss, 'sigmoid-cross-entropy');
    assert.deepEqual(rows(task, 'train'), expected.train);
    assert.deepEqual(Array.from(task.batch('train', [0, 1, 2, 3, 4, 5]).targets), expected.trainLabels);
    assert.deepEqual(rows(task, 'test'), expected.test.slice(0, 2));
    assert.deepEqual(rows(task, 'val'), expected.test.slice(2));
    assert.deepEqual(Array.from(task.batch('val', [0, 1]).targets), expected.testLabels.slice(2));
    const d = task.describe();
    assert.equal(d.format, 'npz');
    assert.match(String(d.checksum), /^[0-9a-f]{64}$/);
  });

  it('post-padding and post-truncation are options', () => {
    const task = createTask({ name: 'imdb', path: npzPath, vocabSize: 8, maxLen: 5, padding: 'post', truncating: 'post' }) as ImdbTask;
    // x_train[1] = ranks [4..10] → [1, 7, 2, 2, 2, 2, 2, 2] kept from the front; x_train[2] = [1] → [1, 4] padded after.
    const all = rows(task, 'train');
    assert.ok(all.some((r) => JSON.stringify(r) === JSON.stringify([1, 7, 2, 2, 2])), JSON.stringify(all));
    assert.ok(all.some((r) => JSON.stringify(r) === JSON.stringify([1, 4, 0, 0, 0])), JSON.stringify(all));
  });

  it('tokenises reviews and ranks words by training frequency (aclImdb folder)', () => {
    assert.deepEqual(tokenizeReview("It's BAD,<br /><br/>really bad-boring"), ["it's", 'bad', 'really', 'bad', 'boring']);
    writeAclImdbFixture(tmp.dir);
    // Training counts: bad 5, great 5, then a, acting, boring, film, it's (2 each): ids rank + 3.
    const task = createTask({ name: 'imdb', path: tmp.dir, vocabSize: 10, maxLen: 6 }) as ImdbTask;
    assert.equal(task.describe().format, 'aclImdb');
    assert.equal(task.numExamples('train'), 6);
    const heldOut = [...rows(task, 'val'), ...rows(task, 'test')].map((r) => r.join(',')).sort();
    const want = [
      [0, 0, 0, 1, 5, 9], // Great film
      [0, 1, 6, 5, 2, 2], // a great unseen masterpiece (unseen words → OOV 2)
      [0, 0, 1, 4, 4, 4], // bad bad bad
      [0, 0, 0, 1, 8, 9], // boring film
    ].map((r) => r.join(',')).sort();
    assert.deepEqual(heldOut, want);
  });

  it('finds imdb.npz under ORTHOQUANT_DATA_DIR; a missing dataset names every path tried and the download script', () => {
    const saved = process.env.ORTHOQUANT_DATA_DIR;
    try {
      process.env.ORTHOQUANT_DATA_DIR = join(tmp.dir, 'nowhere');
      assert.throws(
        () => createTask({ name: 'imdb' }),
        (err: Error) =>
          err.message.startsWith('imdb: dataset not found. Tried:') &&
          err.message.includes(join(tmp.dir, 'nowhere', 'imdb.npz')) &&
          err.message.includes(`${join(tmp.dir, 'nowhere', 'aclImdb')}/{train,test}/{pos,neg}/*.txt`) &&
          err.message.includes('packages/tasks/scripts/download-datasets.sh imdb'),
      );
      copyFileSync(npzPath, join(tmp.dir, 'imdb.npz'));
      process.env.ORTHOQUANT_DATA_DIR = tmp.dir;
      const task = createTask({ name: 'imdb', vocabSize: 8, maxLen: 5, format: 'npz' }) as ImdbTask;
      assert.deepEqual(rows(task, 'train'), expected.train);
    } finally {
      if (saved === undefined) delete process.env.ORTHOQUANT_DATA_DIR;
      else process.env.ORTHOQUANT_DATA_DIR = saved;
    }
  });

  it('a corrupt npz is an error naming the file', () => {
    const bad = join(tmp.dir, 'bad.npz');
    writeFileSync(bad, readFileSync(npzPath).subarray(0, 300));
    assert.throws(() => createTask({ name: 'imdb', path: bad }), new RegExp(`${bad.replace(/\./g, '\\.')}: not a zip archive`));
  });

  it('batches are time-major token ids with deterministic shuffled epochs', () => {
    const task = createTask({ name: 'imdb', path: npzPath, vocabSize: 8, maxLen: 5 }) as ImdbTask;
    const a = [...task.epochBatches('train', 4, createRng(1))];
    assert.deepEqual(a, [...task.epochBatches('train', 4, createRng(1))]);
    assert.deepEqual(a.map((x) => [x.T, x.B, x.inputKind === 'tokens' ? x.tokens.length : -1]), [[5, 4, 20], [5, 2, 10]]);
    assert.throws(() => createTask({ name: 'imdb', path: npzPath, valSize: 3 }), /task\.valSize: expected an integer in \[1, 2\] \(the val split of .*\), got 3/);
  });

  it('scores one sigmoid logit per review: loss ln 2 at logit 0, accuracy from the sign', () => {
    const task = createTask({ name: 'imdb', path: npzPath, vocabSize: 8, maxLen: 5 }) as ImdbTask;
    const batch = task.batch('train', [0, 1, 2, 3]);
    const acc = new MetricAccumulator(task);
    acc.add(batch, new Float32Array(4));
    assert.ok(Math.abs(acc.result().loss! - Math.LN2) < 1e-12);
    const sure = new MetricAccumulator(task);
    sure.add(batch, Float32Array.from(batch.targets, (y) => (y === 1 ? 30 : -30)));
    assert.equal(sure.result().accuracy, 1);
    assert.ok(sure.result().loss! < 1e-12);
    assert.throws(() => sure.add(batch, new Float32Array(3)), /imdb metrics: logits length 3, expected 4 \(4 targets × outputDim 1\)/);
  });
});
