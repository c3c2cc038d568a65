/**
 * A store on a full disk, for real: every process of the sweep (coordinator and workers) runs
 * with a preload that caps the SQLite file's size (PRAGMA max_page_count: `fullDiskEnv`), so the workers'
 * metric writes fail inside SQLite with SQLITE_FULL part-way through the sweep. The sweep stops
 * with one clear error naming the file, keeps no partial batch, fails no trial; run again once
 * there is room, it completes, each unfinished trial running to completion exactly once.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@orthoquant/runtime';
import { openStore, listTrials, listSweeps, runningTrials, getTrial, type Store } from '@orthoquant/store';
import { prepareSweep, runSweep } from './index.js';
import { FAKE_TRAINER } from './testing.js';
import { sandbox, startCoordinator, withCompletionLog } from './test-fixtures/helpers.js';
import { fullDiskEnv, integrityCheck, pageCount } from '@orthoquant/store/testing';

const N = 8;
const STEPS = 200;
const SWEEP = `
name: full
parameters:
  id: { values: [${Array.from({ length: N }, (_, i) => `t${i}`).join(', ')}] }
  steps: { value: ${STEPS} }
  stepMs: { value: 5 }
`;

/** Run the coordinator fixture in its own process with the store capped at `pages` pages. */
async function runCapped(db: string, file: string, pages: number, completions: string): Promise<{ code: number | null; out: string }> {
  const c = startCoordinator(db, file, 2, { ...fullDiskEnv(pages, process.env.NODE_OPTIONS), FAKE_TRAINER_LOG: completions });
  const code = await c.exited;
  return { code, out: c.output() };
}

/** Per trial: its status, and whether its metric rows are whole steps from 0 with no gap. */
function trialState(store: Store): { id: string; status: string; steps: number; whole: boolean; summary: boolean }[] {
  return listTrials(store, { sweep: 'full' }).map((r) => {
    const curves = getTrial(store, r.id).curves;
    const loss = curves.find((c) => c.key === 'loss');
    const acc = curves.find((c) => c.key === 'acc');
    const steps = loss?.points ?? 0;
    // a batch is one transaction holding whole steps: loss and acc rows always come together
    const whole = loss === undefined ? acc === undefined : acc !== undefined && acc.points === steps && loss.firstStep === 0 && loss.lastStep === steps - 1 && acc.lastStep === steps - 1;
    return { id: String(r.config.id), status: r.status, steps, whole, summary: Object.keys(r.summary).length > 0 };
  });
}

test('full disk (SQLITE_FULL) during a sweep: a clear error naming the file, no partial rows, no failed trial; the same command then completes every trial once', async (tc) => {
  const sb = sandbox('orthoquant-full-');
  try {
    const file = sb.write('full.yaml', SWEEP);

    // 1. no room even for the store's tables: the error names the file, nothing is registered
    const first = await runCapped(sb.db, file, 4, join(sb.dir, 'none.log'));
    assert.equal(first.code, 2, first.out);
    assert.match(first.out, new RegExp(`error InputError: store ${sb.db}: the disk is full \\(.*database or disk is full\\): nothing partial was recorded .*run the same command again to continue`));
    let store = openStore(sb.db);
    try {
      assert.deepEqual(listSweeps(store), []);
      // 2. room for the sweep's registration and a few trials' rows, not for all of them
      await prepareSweep(store, { file, runnerModule: FAKE_TRAINER }, createLogger({ name: 'test', quiet: true }));
    } finally {
      store.close();
    }
    store = openStore(sb.db);
    const registered = pageCount(store);
    store.close();
    const before = join(sb.dir, 'before.log');
    const capped = await runCapped(sb.db, file, registered + 4, before);
    assert.equal(capped.code, 2, capped.out);
    const errors = capped.out.split('\n').filter((l) => l.startsWith('error '));
    assert.deepEqual(errors.length, 1, capped.out);
    assert.match(errors[0], new RegExp(`^error InputError: store ${sb.db}: the disk is full \\(database or disk is full\\): nothing partial was recorded \\(each write is one transaction\\); free some space and run the same command again to continue$`));

    store = openStore(sb.db);
    let mid;
    try {
      mid = trialState(store);
      tc.diagnostic(`store capped at ${registered + 4} pages (${registered} after registration): ${mid.map((t) => `${t.id} ${t.status} ${t.steps}/${STEPS}`).join(', ')}`);
      assert.deepEqual(runningTrials(store), [], 'the running trials were given back');
      assert.deepEqual(mid.filter((t) => t.status !== 'done' && t.status !== 'pending'), [], 'no trial failed or left running');
      assert.ok(mid.some((t) => t.status === 'pending' && t.steps > 0), `some trial was stopped part-way: ${JSON.stringify(mid)}`);
      assert.ok(mid.filter((t) => t.status === 'done').length < N, 'the disk filled before the end');
      for (const t of mid) {
        assert.ok(t.whole, `trial ${t.id}: rows of whole steps from 0 only: ${JSON.stringify(t)}`);
        assert.equal(t.summary, t.status === 'done', `trial ${t.id}: a summary only once done`);
        if (t.status === 'done') assert.equal(t.steps, STEPS);
      }
    } finally {
      store.close();
    }

    // 3. room again: the same command continues; each trial not yet done runs to completion once
    const after = join(sb.dir, 'after.log');
    const r = await withCompletionLog(after, () => runSweep({ dbPath: sb.db, file, workers: 2, runnerModule: FAKE_TRAINER, heartbeatMs: 200 }));
    const doneBefore = mid.filter((t) => t.status === 'done').map((t) => t.id);
    assert.deepEqual([r.done, r.failed, r.pending, r.running, r.alreadyDone], [N, 0, 0, 0, doneBefore.length]);
    const ranAfter = readFileSync(after, 'utf8').trim().split('\n').sort();
    assert.deepEqual(ranAfter, mid.filter((t) => t.status !== 'done').map((t) => t.id).sort(), 'each unfinished trial ran to completion exactly once; no finished one ran again');
    store = openStore(sb.db);
    try {
      for (const t of trialState(store)) assert.deepEqual([t.status, t.steps, t.whole, t.summary], ['done', STEPS, true, true], `trial ${t.id}`);
      for (const r of listTrials(store, { sweep: 'full' })) {
        for (const c of getTrial(store, r.id).curves) assert.equal(c.points, c.key === 'loss' || c.key === 'acc' ? STEPS : STEPS / 5, `trial ${r.id} ${c.key}: no duplicate or missing step`);
      }
      assert.equal(integrityCheck(store), 'ok');
    } finally {
      store.close();
    }
  } finally {
    sb.cleanup();
  }
});
