/**
 * Two `sweep run` of the same sweep at once on one store: both register the same trial set
 * and their workers share the queue (claims are atomic), so no trial runs twice; both end
 * with the whole sweep done.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, listTrials } from '@orthoquant/store';
import { sandbox, startCoordinator, waitFor } from './test-fixtures/helpers.js';

test('two coordinators of one sweep on one store: every trial runs once, both finish', async () => {
  const sb = sandbox('orthoquant-two-');
  const completions = join(sb.dir, 'completions.log');
  try {
    const file = sb.write('two.yaml', `name: two\nparameters:\n  id: { values: [a, b, c, d, e, f] }\n  steps: { value: 60 }\n  stepMs: { value: 25 }\nseeds: [0, 1]\n`);
    const a = startCoordinator(sb.db, file, 2, { FAKE_TRAINER_LOG: completions });
    // the second starts while the first is running trials
    await waitFor('the first coordinator to claim', () => a.output().includes('claimed'), 180_000);
    const b = startCoordinator(sb.db, file, 2, { FAKE_TRAINER_LOG: completions });
    const [ca, cb] = await Promise.all([a.exited, b.exited]);
    assert.equal(ca, 0, a.output());
    assert.equal(cb, 0, b.output());
    const ra = JSON.parse(/result (.*)/.exec(a.output())![1]) as { done: number; ranThisRun: number };
    const rb = JSON.parse(/result (.*)/.exec(b.output())![1]) as { done: number; ranThisRun: number };
    assert.deepEqual([ra.done, rb.done], [12, 12], 'each sees the whole sweep done');
    const lines = readFileSync(completions, 'utf8').trim().split('\n');
    assert.equal(lines.length, 12, `each trial ran to completion once: ${lines.join(' ')}`);
    const s = openStore(sb.db);
    try {
      const rows = listTrials(s, { sweep: 'two', summaryKeys: [] });
      assert.deepEqual(
        rows.map((r) => `${r.status}/${r.attempts}`),
        Array(12).fill('done/1'),
        'claimed once each',
      );
      console.log(`# two coordinators: ${ra.ranThisRun} + ${rb.ranThisRun} trials run, 12 trials, none twice`);
    } finally {
      s.close();
    }
  } finally {
    sb.cleanup();
  }
});
