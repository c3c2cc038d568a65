/**
 * Disk use: a finished trial keeps its last checkpoint only (files and store rows), unless
 * asked to keep them all; the sweep result says what is left on disk.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { openStore, listTrials, checkpoints } from '@orthoquant/store';
import { runSweep } from './index.js';
import { FAKE_TRAINER } from './testing.js';
import { sandbox } from './test-fixtures/helpers.js';

test('checkpoints of finished trials are pruned to the last one; keepCheckpoints keeps them all', async () => {
  const sb = sandbox('orthoquant-prune-');
  try {
    const file = sb.write('p.yaml', `name: p\nparameters:\n  id: { values: [a, b] }\n  steps: { value: 12 }\n  checkpointEvery: { value: 3 }\n`);
    const r = await runSweep({ dbPath: sb.db, file, workers: 1, runnerModule: FAKE_TRAINER });
    assert.equal(r.done, 2);
    const bytesEach = 'checkpoint at 12\n'.length;
    assert.deepEqual(r.checkpoints, { files: 2, bytes: 2 * bytesEach });
    const s = openStore(sb.db);
    try {
      for (const t of listTrials(s, { sweep: 'p', summaryKeys: [] })) {
        const rows = checkpoints(s, t.id);
        assert.deepEqual(rows.map((x) => x.step), [12], 'only the last checkpoint row');
        assert.deepEqual(readdirSync(dirname(rows[0].path)), ['ck-12'], 'only the last checkpoint file');
      }
    } finally {
      s.close();
    }

    const file2 = sb.write('k.yaml', `name: k\nparameters:\n  id: { values: [c] }\n  steps: { value: 12 }\n  checkpointEvery: { value: 3 }\n`);
    const k = await runSweep({ dbPath: sb.db, file: file2, workers: 1, runnerModule: FAKE_TRAINER, keepCheckpoints: true });
    assert.equal(k.checkpoints!.files, 4);
    const s2 = openStore(sb.db);
    try {
      const id = listTrials(s2, { sweep: 'k', summaryKeys: [] })[0].id;
      const rows = checkpoints(s2, id);
      assert.equal(rows.length, 4);
      for (const x of rows) assert.ok(existsSync(x.path));
    } finally {
      s2.close();
    }
  } finally {
    sb.cleanup();
  }
});
