import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetricAccumulator, PtbCharTask, createTask } from '../index.js';
import type { TokenBatch } from '../index.js';
import { tempDir, writePtbFixture } from '../testing.js';

const tmp = tempDir();
after(() => tmp.cleanup());
const dir = join(tmp.dir, 'simple-examples', 'data');
const text = writePtbFixture(dir);

describe('Penn Treebank characters', () => {
  it('reads ptb.char files: `_` word boundaries, one end-of-line symbol per line, sorted vocabulary', () => {
    const task = createTask({ name: 'ptb-char', path: tmp.dir, bptt: 4 }) as PtbCharTask;
    assert.equal(task.dir, dir);
    const expectedTrain = text.train.map((l) => `${l.replace(/ /g, '_')}\n`).join('');
    assert.equal(task.decode(task.stream('train')), expectedTrain);
    assert.deepEqual(task.symbols, [...new Set(expectedTrain)].sort());
    assert.equal(task.numClasses, task.symbols.length);
    assert.equal(task.vocabSize, task.symbols.length);
    assert.equal(task.numExamples('train'), expectedTrain.length - 1);
    assert.equal(task.decode(task.stream('test')), 'a_cat_ran\nthe_end\n');
  });

  it('the raw word-level files give the same stream', () => {
    const chars = createTask({ name: 'ptb-char', path: dir }) as PtbCharTask;
    const raw = createTask({ name: 'ptb-char', path: dir, format: 'raw' }) as PtbCharTask;
    assert.deepEqual(raw.stream('train'), chars.stream('train'));
    assert.deepEqual(raw.stream('val'), chars.stream('val'));
  });

  it('cuts the stream into contiguous rows and consecutive BPTT windows; targets are the next symbol', () => {
    const task = createTask({ name: 'ptb-char', path: dir, bptt: 4 }) as PtbCharTask;
    const s = task.stream('train');
    const B = 3;
    const L = Math.floor((s.length - 1) / B);
    const batches = [...task.epochBatches('train', B)] as TokenBatch[];
    assert.equal(batches.length, Math.ceil(L / 4));
    assert.equal(task.numBatches('train', B), batches.length);
    assert.deepEqual(batches.map((x) => x.resetState), batches.map((_, i) => i === 0));
    assert.ok(task.consecutiveBatches);
    // Concatenating each row's windows gives the row's slice of the stream, and targets are shifted by one.
    for (let b = 0; b < B; b++) {
      const row: number[] = [];
      const next: number[] = [];
      for (const x of batches) {
        for (let t = 0; t < x.T; t++) {
          row.push(x.tokens[t * B + b]);
          next.push(x.targets[t * B + b]);
        }
      }
      assert.deepEqual(row, Array.from(s.subarray(b * L, (b + 1) * L)));
      assert.deepEqual(next, Array.from(s.subarray(b * L + 1, (b + 1) * L + 1)));
    }
    const last = batches[batches.length - 1];
    assert.equal(last.T, L - 4 * (batches.length - 1));
    assert.equal(task.numBatches('train', B, { dropLast: true }), Math.floor(L / 4));
  });

  it('one-hot input option, bits per character and the unigram baseline', () => {
    const task = createTask({ name: 'ptb-char', path: dir, bptt: 5, input: 'one-hot' }) as PtbCharTask;
    const batch = task.window('val', 2, 0);
    assert.equal(batch.inputKind, 'dense');
    if (batch.inputKind !== 'dense') return;
    const V = task.inputDim;
    assert.equal(batch.inputs.length, 5 * 2 * V);
    assert.equal(batch.inputs[task.stream('val')[0]], 1);
    // Uniform logits: loss ln V nats = log2 V bits per character.
    const acc = new MetricAccumulator(task);
    acc.add(batch, new Float32Array(batch.targets.length * V));
    const r = acc.result();
    assert.ok(Math.abs(r.bpc! - Math.log2(V)) < 1e-9);
    assert.ok(Math.abs(r.loss! - Math.log(V)) < 1e-9);
    const base = task.memorylessBaseline();
    assert.ok(base.loss > 0 && base.loss < Math.log(V));
    assert.ok(Math.abs(base.bpc! - base.loss / Math.LN2) < 1e-12);
    assert.equal(task.describe().bptt, 5);
  });

  it('errors: unknown symbols, word files read as chars, missing files, too-large batches', () => {
    const bad = join(tmp.dir, 'bad');
    writePtbFixture(bad);
    writeFileSync(join(bad, 'ptb.char.valid.txt'), ' t h e \n q \n');
    assert.throws(() => createTask({ name: 'ptb-char', path: bad }), new RegExp(`${join(bad, 'ptb.char.valid.txt').replace(/\./g, '\\.')}:2: symbol 'q' does not occur in the training file`));
    writeFileSync(join(bad, 'ptb.char.train.txt'), ' the cat \n');
    assert.throws(() => createTask({ name: 'ptb-char', path: bad }), /ptb\.char\.train\.txt:1: symbol 'the' is not one character .*format: 'raw'/);
    assert.throws(
      () => createTask({ name: 'ptb-char', path: join(tmp.dir, 'none') }),
      (err: Error) => err.message.startsWith('ptb-char: dataset not found. Tried:') && err.message.includes(join(tmp.dir, 'none', 'ptb', 'ptb.char.{train,valid,test}.txt')) && err.message.includes('download-datasets.sh ptb'),
    );
    const task = createTask({ name: 'ptb-char', path: dir }) as PtbCharTask;
    assert.throws(() => task.window('val', 100, 0), /ptb-char: the val stream \(12 symbols\) is too short for batchSize 100/);
    assert.throws(() => createTask({ name: 'ptb-char', path: dir, bptt: 0 }), /task\.bptt: expected an integer ≥ 1, got 0/);
  });
});
