/**
 * Preflight with the default runner: a missing dataset and a model that cannot be built are
 * found for every trial before anything runs — one InputError grouping them, no trial claimed.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { openStore, listTrials } from '@orthoquant/store';
import { isInputError } from '@orthoquant/runtime';
import { runSweep, preflightMessage } from './index.js';
import { sandbox } from './test-fixtures/helpers.js';

test('preflight: missing dataset and unbuildable model reported together, nothing run', async () => {
  const sb = sandbox('orthoquant-preflight-');
  try {
    const file = sb.write(
      'p.yaml',
      [
        'name: p',
        'base:',
        '  batchSize: 16',
        '  budget: { epochs: 1 }',
        'parameters:',
        '  task:',
        '    values:',
        `      - { name: imdb, path: ${sb.dir}/no-such-folder, maxLen: 20 }`,
        '      - { name: copy, T: 12, K: 3, trainSize: 32, valSize: 16, testSize: 16 }',
        '  model:',
        '    values:',
        '      - { type: hadamrnn, hidden: 6, bits: 4 }',
        '      - { type: lstm, hidden: 8 }',
        'seeds: [0, 1]',
        '',
      ].join('\n'),
    );
    await assert.rejects(
      runSweep({ dbPath: sb.db, file, workers: 1 }),
      (e: Error) => {
        assert.ok(isInputError(e), 'bad input (exit 2), not a crash');
        assert.match(e.message, /^preflight: 6 of 8 trials to run cannot start; nothing was run:/);
        // the dataset: one line for the 4 imdb trials, naming the folder tried
        assert.match(e.message, /- 4 trials: trial \d+ \(task=.*imdb.*\)[^\n]*:\n {4}task 'imdb': imdb: dataset not found\. Tried:\n.*no-such-folder/);
        // the model: the 2 HadamRNN trials on the copy task (hidden 6 has no Hadamard matrix)
        assert.match(e.message, /- 2 trials: .*hidden":6.*:\n {4}model 'hadamrnn' on task 'copy': /);
        assert.doesNotMatch(e.message, /\n\s+at /, 'no stack trace in the message');
        return true;
      },
    );
    const s = openStore(sb.db);
    try {
      const rows = listTrials(s, { sweep: 'p', summaryKeys: [] });
      assert.equal(rows.length, 8);
      assert.deepEqual([...new Set(rows.map((r) => `${r.status}/${r.attempts}`))], ['pending/0'], 'no trial was claimed');
    } finally {
      s.close();
    }
  } finally {
    sb.cleanup();
  }
});

test('preflightMessage groups identical problems and names one trial by its label', () => {
  const m = preflightMessage(
    [
      { message: 'x', label: 'trial 1 (a)' },
      { message: 'x', label: 'trial 2 (b)' },
      { message: 'y\nmore', label: 'trial 3 (c)' },
    ],
    5,
  );
  assert.equal(m, 'preflight: 3 of 5 trials to run cannot start; nothing was run:\n- 2 trials: trial 1 (a); trial 2 (b):\n    x\n- trial 3 (c):\n    y\n    more');
});
