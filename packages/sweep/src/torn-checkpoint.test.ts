/**
 * A worker dies and the checkpoint its store row names is torn (cut short: the write never
 * reached the disk whole). The re-claimed trial skips it and resumes from the previous whole
 * checkpoint; the replayed steps overwrite their metric rows (no duplicate, no gap).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openStore, listTrials, checkpoints } from '@orthoquant/store';
import { runSweep } from './index.js';
import { FAKE_TRAINER } from './testing.js';
import { sandbox } from './test-fixtures/helpers.js';
import { metricSpans } from '@orthoquant/store/testing';

test('a torn checkpoint is detected, not loaded: the trial resumes from the previous whole one', async () => {
  const sb = sandbox('orthoquant-torn-');
  try {
    const file = sb.write('t.yaml', `name: t\nparameters:\n  id: { values: [torn] }\n  steps: { value: 10 }\n  checkpointEvery: { value: 3 }\n  crashOnceAt: { value: 8 }\n  tearCheckpoint: { value: true }\n`);
    const r = await runSweep({ dbPath: sb.db, file, workers: 1, runnerModule: FAKE_TRAINER, maxAttempts: 2, keepCheckpoints: true });
    assert.deepEqual([r.done, r.failed], [1, 0], JSON.stringify(r.failures));
    const store = openStore(sb.db);
    try {
      const t = listTrials(store, { sweep: 't' })[0];
      assert.deepEqual([t.status, t.attempts], ['done', 2]);
      const ck = checkpoints(store, t.id).reverse();
      // the first attempt recorded 3 and 6 (6 then torn); the second, resumed at 3, wrote 6 and 9 again
      assert.deepEqual(ck.map((c) => c.step), [3, 6, 9]);
      assert.equal(readFileSync(ck[1].path, 'utf8'), 'checkpoint at 6\n', 'step 6 rewritten whole by the resumed attempt');
      const loss = metricSpans(store, t.id).find((x) => x.key === 'loss')!;
      assert.deepEqual({ n: loss.n, lo: loss.lo, hi: loss.hi, d: loss.distinct }, { n: 10, lo: 0, hi: 9, d: 10 });
      const log = readFileSync(r.logFile, 'utf8');
      assert.match(log, /ck-6 is torn or corrupt; trying the previous one/);
      assert.match(log, /"resumeFrom":"[^"]*ck-3"/);
    } finally {
      store.close();
    }
  } finally {
    sb.cleanup();
  }
});
