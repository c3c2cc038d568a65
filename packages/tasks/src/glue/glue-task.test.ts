import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '@orthoquant/runtime';
import { GlueTask, MetricAccumulator, bertTokenizerJson, createTask, loadWordPiece } from '../index.js';
import { TINY_BERT_VOCAB, tempDir, writeGlueFixture } from '../testing.js';

const tmp = tempDir();
after(() => tmp.cleanup());
const fx = writeGlueFixture(tmp.dir);
const vocab = Object.fromEntries(TINY_BERT_VOCAB.map((w, i) => [w, i]));
const ids = (...words: string[]) => words.map((w) => {
  assert.ok(w in vocab, w);
  return vocab[w];
});

function rows(task: GlueTask, split: 'train' | 'val' | 'test'): number[][] {
  const n = task.numExamples(split);
  const b = task.batch(split, Array.from({ length: n }, (_, i) => i));
  return Array.from({ length: n }, (_, k) => Array.from({ length: b.T }, (_, t) => b.tokens[t * n + k]));
}

describe('GLUE SST-2 / QQP', () => {
  it('SST-2: [CLS] WordPiece… [SEP] then [PAD] to maxLen; lower case, accents stripped, ## continuations', () => {
    const task = createTask({ name: 'sst2', path: tmp.dir, maxLen: 10 }) as GlueTask;
    assert.equal(task.inputKind, 'tokens');
    assert.equal(task.loss, 'sigmoid-cross-entropy');
    assert.equal(task.outputMode, 'last');
    assert.equal(task.vocabSize, TINY_BERT_VOCAB.length);
    assert.deepEqual(task.metrics.map((m) => m.name), ['loss', 'accuracy']);
    const r = rows(task, 'train');
    const padTo = (a: number[]) => [...a, ...Array(10 - a.length).fill(0)];
    assert.deepEqual(r[0], padTo(ids('[CLS]', 'the', 'movie', 'was', 'great', '!', '[SEP]')));
    assert.deepEqual(r[2], padTo(ids('[CLS]', 'un', '##believ', '##able', 'fun', '[SEP]')));
    assert.deepEqual(r[3], padTo(ids('[CLS]', 'the', 'film', 'is', 'bad', '##ly', 'bad', '[SEP]')));
    assert.deepEqual(r[5], padTo(ids('[CLS]', 'boring', '.', 'bad', '.', '[SEP]')));
    assert.deepEqual(r[7], padTo(ids('[CLS]', 'a', 'cafe', 'movie', '[SEP]')));
    assert.deepEqual(Array.from(task.batch('train', [0, 1, 2, 3, 4, 5, 6, 7]).targets), fx.sst2.train.map(([, y]) => y));
    // The dev split is both val and test.
    assert.deepEqual(rows(task, 'test'), rows(task, 'val'));
    assert.deepEqual(rows(task, 'test')[1], padTo(ids('[CLS]', 'bad', 'film', '[SEP]')));
  });

  it('cuts to maxLen keeping [CLS] … [SEP] (truncation=True), and pads before the text with padding: pre', () => {
    const cut = createTask({ name: 'sst2', path: join(tmp.dir, 'SST-2'), tokenizer: join(tmp.dir, 'bert-base-uncased', 'vocab.txt'), maxLen: 4 }) as GlueTask;
    assert.deepEqual(rows(cut, 'train')[0], ids('[CLS]', 'the', 'movie', '[SEP]'));
    const pre = createTask({ name: 'sst2', path: tmp.dir, maxLen: 6, padding: 'pre', valSize: 2 }) as GlueTask;
    assert.deepEqual(rows(pre, 'test')[0], [0, 0, ...ids('[CLS]', 'great', 'movie', '[SEP]')]);
    assert.equal(pre.numExamples('val'), 2);
    assert.equal(pre.numExamples('test'), 3);
  });

  it('QQP: question1 [SEP] [SEP] question2 in one sequence; malformed rows skipped and recorded; F1 of the duplicate class', () => {
    const task = createTask({ name: 'qqp', path: tmp.dir, maxLen: 20 }) as GlueTask;
    assert.deepEqual(task.metrics.map((m) => m.name), ['loss', 'accuracy', 'f1']);
    assert.equal(task.numExamples('train'), fx.qqp.train.length);
    assert.deepEqual((task.describe().skippedRows as Record<string, number>).train, 1);
    const dev0 = ids('[CLS]', 'how', 'do', 'i', 'code', '?', '[SEP]', '[SEP]', 'how', 'do', 'i', 'learn', 'to', 'code', '?', '[SEP]');
    assert.deepEqual(rows(task, 'test')[0], [...dev0, 0, 0, 0, 0]);

    const acc = new MetricAccumulator(task);
    const batch = task.batch('train', [0, 1, 2, 3, 4]); // labels 1 0 1 1 0
    acc.add(batch, [2, 1, -1, 3, -2]); // predictions 1 1 0 1 0: TP 2, FP 1, FN 1
    const m = acc.result();
    assert.equal(m.accuracy, 3 / 5);
    assert.equal(m.f1, (2 * 2) / (2 * 2 + 1 + 1));
  });

  it("reads Hugging Face's tokenizer.json to the same ids as the vocab.txt", () => {
    const dir = join(tmp.dir, 'tk');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(bertTokenizerJson([...TINY_BERT_VOCAB], 'vocab.txt')));
    const a = createTask({ name: 'qqp', path: tmp.dir, tokenizer: dir }) as GlueTask;
    const b = createTask({ name: 'qqp', path: tmp.dir }) as GlueTask;
    assert.equal(a.tokenizer.format, 'tokenizer.json');
    assert.equal(b.tokenizer.format, 'vocab.txt');
    assert.deepEqual(rows(a, 'train'), rows(b, 'train'));
    assert.equal(a.T, 128);
    const wp = loadWordPiece(join(dir, 'tokenizer.json'));
    assert.deepEqual(Array.from(wp.encodeFixed('What is the best way?', 5)), ids('[CLS]', 'what', 'is', 'the', '[SEP]'));
    assert.deepEqual(wp.pieces('xyzzy'), ids('[UNK]'));
  });

  it('a balanced sampler draws each class equally often (with replacement), a shuffle draws each example once', () => {
    const balanced = createTask({ name: 'sst2', path: tmp.dir, sampler: 'balanced' }) as GlueTask; // 5 positive, 3 negative
    const shuffle = createTask({ name: 'sst2', path: tmp.dir }) as GlueTask;
    let pos = 0;
    let n = 0;
    const rng = createRng(7);
    for (let e = 0; e < 400; e++) {
      for (const b of balanced.epochBatches('train', 3, rng.fork(`epoch/${e}`))) {
        for (const y of b.targets) pos += y;
        n += b.B;
      }
    }
    assert.equal(n, 400 * 8);
    assert.ok(Math.abs(pos / n - 0.5) < 0.03, `positive fraction ${pos / n}`);
    const seen = [...shuffle.epochBatches('train', 3, createRng(1))].flatMap((b) => Array.from(b.indices)).sort((x, y) => x - y);
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.throws(() => balanced.epochBatches('train', 3).next(), /sst2\.epochBatches: the balanced sampler draws each epoch: pass an Rng/);
  });

  it('a missing dataset or tokenizer is an error at construction that says how to get it', () => {
    const empty = tempDir();
    try {
      assert.throws(
        () => createTask({ name: 'sst2', path: empty.dir }),
        (err: Error) => /sst2: dataset not found/.test(err.message) && /SST-2\/train\.tsv/.test(err.message) && /download-datasets\.sh sst2/.test(err.message) && /bert-base-uncased tokenizer not found/.test(err.message),
      );
      assert.throws(
        () => createTask({ name: 'qqp', path: tmp.dir, tokenizer: join(empty.dir, 'vocab.txt') }),
        (err: Error) => !/dataset not found/.test(err.message) && /qqp: bert-base-uncased tokenizer not found/.test(err.message) && /tokenizer\.json or vocab\.txt/.test(err.message) && /nothing is downloaded/.test(err.message),
      );
    } finally {
      empty.cleanup();
    }
  });

  it('bad files and config values are errors naming the file, line or key', () => {
    const dir = join(tmp.dir, 'bad', 'SST-2');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'train.tsv'), 'sentence\tlabel\ngood\t1\nbad\tneg\n');
    writeFileSync(join(dir, 'dev.tsv'), 'text\tlabel\ngood\t1\n');
    const tokenizer = join(tmp.dir, 'bert-base-uncased');
    assert.throws(() => createTask({ name: 'sst2', path: dir, tokenizer }), /train\.tsv: line 3: column 'label': expected 0 or 1, got 'neg'/);
    writeFileSync(join(dir, 'train.tsv'), 'sentence\tlabel\ngood\t1\n');
    assert.throws(() => createTask({ name: 'sst2', path: dir, tokenizer }), /dev\.tsv: line 1: no column 'sentence'/);
    assert.throws(() => createTask({ name: 'sst2', path: tmp.dir, maxLen: 1 }), /task\.maxLen: expected an integer ≥ 2, got 1/);
    assert.throws(() => createTask({ name: 'sst2', path: tmp.dir, sampler: 'weighted' }), /task\.sampler: expected one of 'shuffle' \| 'balanced'/);
    assert.throws(() => createTask({ name: 'sst2', path: tmp.dir, trainSize: 99 }), /task\.trainSize: expected an integer in \[1, 8\]/);
    assert.throws(() => createTask({ name: 'qqp', path: tmp.dir, vocab: 3 }), /task\.vocab: unknown key for task 'qqp'/);
    const notBert = join(tmp.dir, 'notbert.txt');
    writeFileSync(notBert, 'a\nb\n');
    assert.throws(() => createTask({ name: 'sst2', path: tmp.dir, tokenizer: notBert }), /notbert\.txt: not a BERT vocabulary: no \[PAD\], \[UNK\], \[CLS\], \[SEP\], \[MASK\]/);
  });
});
