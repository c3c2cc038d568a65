/**
 * The executor contract: what every way of running a sweep (local processes, the BullMQ queue,
 * a Slurm array) must do, as scenarios each executor's test file runs through its own harness.
 *
 * - exactly once: every trial of a sweep ends done, with exactly its metric rows (no duplicate
 *   or missing step), nothing left running, each config trained to completion once; run again,
 *   nothing runs.
 * - failure recorded: a trial whose trainer throws ends failed with the trainer's error; the
 *   others complete.
 * - pace (executors with live progress): a running trial's step, step budget, steps/s and ETA
 *   reach the progress events and `sweep status` before any trial has finished.
 *
 * Resume after a kill and SIGTERM requeue need each executor's own way to be killed; their
 * tests (kill.test.ts, queue.test.ts, slurm.test.ts) assert the same exactly-once outcome
 * with `assertAllDoneOnce`.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { listTrials, runningTrials, sweepStatus, type Store } from '@orthoquant/store';
import { duplicateMetricRows, metricRowCount } from '@orthoquant/store/testing';
import type { SweepProgress } from '../session.js';
import type { Sandbox } from './helpers.js';

/** How one executor runs a sweep file to its end, for the contract scenarios. */
export interface ExecutorHarness {
  name: string;
  /** Where the fake trainer appends a trial's config id each time it runs to completion. */
  completionLog: string;
  /** Run the sweep until no trial is pending or running; the counts it ends with. */
  run(store: Store, file: string, opts?: { onProgress?: (p: SweepProgress) => void }): Promise<{ done: number; failed: number }>;
}

/** The fake trainer's metric rows for a trial of `steps` steps: loss and acc per step, val_acc and epoch every 5. */
export function fakeTrainerRows(steps: number): number {
  return steps * 2 + Math.floor(steps / 5) * 2;
}

/** Every trial of the sweep done, with exactly its metric rows and its summary, none duplicated, none left running. */
export function assertAllDoneOnce(store: Store, sweep: string, n: number, steps: number): void {
  const rows = listTrials(store, { sweep, summaryKeys: ['test_acc'] });
  assert.equal(rows.length, n);
  assert.deepEqual(
    rows.map((r) => r.status),
    Array(n).fill('done'),
  );
  for (const r of rows) {
    const m = metricRowCount(store, r.id);
    assert.equal(m, fakeTrainerRows(steps), `trial ${r.id} has ${m} metric rows`);
    const s = r.summary.test_acc;
    assert.ok(s && s.final !== null && s.final > 0, `trial ${r.id} has a test_acc summary`);
  }
  assert.deepEqual(duplicateMetricRows(store), []);
  assert.deepEqual(runningTrials(store), []);
}

/** Config ids the fake trainer ran to completion (those starting with `prefix`), sorted. */
export function completions(log: string, prefix: string): string[] {
  return existsSync(log)
    ? readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .filter((l) => l.startsWith(prefix))
        .sort()
    : [];
}

/** Contract: every trial done exactly once; run again, nothing runs. */
export async function exactlyOnce(h: ExecutorHarness, sb: Sandbox, store: Store): Promise<void> {
  const name = `once-${h.name}`;
  const file = sb.write(`${name}.yaml`, `name: ${name}\nparameters:\n  id: { values: [${name}-a, ${name}-b, ${name}-c] }\n  steps: { value: 10 }\n  stepMs: { value: 5 }\nseeds: [0, 1]\n`);
  const r = await h.run(store, file);
  assert.deepEqual([r.done, r.failed], [6, 0], `${h.name}: result counts`);
  assertAllDoneOnce(store, name, 6, 10);
  assert.deepEqual(completions(h.completionLog, name), [`${name}-a`, `${name}-a`, `${name}-b`, `${name}-b`, `${name}-c`, `${name}-c`], `${h.name}: each config trained to completion once`);
  const again = await h.run(store, file);
  assert.deepEqual([again.done, again.failed], [6, 0]);
  assert.equal(completions(h.completionLog, name).length, 6, `${h.name}: nothing ran again`);
}

/** Contract: a trial whose trainer throws ends failed with its error; the others complete. */
export async function failureRecorded(h: ExecutorHarness, sb: Sandbox, store: Store): Promise<void> {
  const name = `fail-${h.name}`;
  const file = sb.write(`${name}.yaml`, `name: ${name}\nparameters:\n  id: { values: [${name}-a, ${name}-b] }\n  steps: { value: 6 }\n  stepMs: { value: 1 }\ninclude:\n  - { id: ${name}-bad, failAt: 3 }\n`);
  const r = await h.run(store, file);
  assert.deepEqual([r.done, r.failed], [2, 1], `${h.name}: result counts`);
  const rows = listTrials(store, { sweep: name, summaryKeys: [] });
  const bad = rows.find((t) => (t.config as { id: string }).id === `${name}-bad`)!;
  assert.equal(bad.status, 'failed');
  assert.match(bad.error ?? '', /fake trainer: diverged at step 3/, `${h.name}: the trainer's error is recorded`);
  assert.deepEqual(
    rows.filter((t) => t !== bad).map((t) => t.status),
    ['done', 'done'],
  );
  assert.deepEqual(runningTrials(store), []);
}

/** Contract (live executors): one long trial's step, budget, steps/s and ETA reach the progress events and `sweep status`. */
export async function paceReported(h: ExecutorHarness, sb: Sandbox, store: Store): Promise<void> {
  const name = `pace-${h.name}`;
  const file = sb.write(`${name}.yaml`, `name: ${name}\nparameters:\n  id: { values: [${name}-only] }\n  steps: { value: 80 }\n  stepMs: { value: 25 }\n`);
  const seen: SweepProgress[] = [];
  const fromStore: { step: number | null; totalSteps: number | null; stepsPerSecond: number | null }[] = [];
  const r = await h.run(store, file, {
    onProgress: (p) => {
      seen.push(structuredClone(p));
      if (p.running === 1) fromStore.push(...sweepStatus(store, name).runningTrials);
    },
  });
  assert.equal(r.done, 1);
  const mid = seen.filter((p) => p.finishedThisRun === 0 && p.trials.length === 1 && p.trials[0].stepsPerSecond !== null);
  assert.ok(mid.length >= 1, `${h.name}: progress events with the trial's pace: ${JSON.stringify(seen.map((p) => p.trials))}`);
  const last = mid[mid.length - 1];
  const t = last.trials[0];
  assert.equal(t.totalSteps, 80);
  assert.ok(t.step! > 0 && t.step! <= 80);
  assert.ok(t.stepsPerSecond! > 5 && t.stepsPerSecond! < 100, `about 40 steps/s, got ${t.stepsPerSecond}`);
  assert.ok(t.etaMs !== null && last.etaMs !== null, 'an ETA before any trial finished');
  assert.equal(last.etaMs, t.etaMs, 'one trial: the sweep ETA is its ETA');
  const stored = fromStore.filter((x) => x.stepsPerSecond !== null);
  assert.ok(stored.length >= 1, `${h.name}: sweep status had the trial's progress: ${JSON.stringify(fromStore)}`);
  assert.equal(stored[stored.length - 1].totalSteps, 80);
}

/** The contract's scenarios by what they check, for each executor's test file to run (`live`: needs progress events). */
export const CONTRACT: readonly { what: string; scenario: (h: ExecutorHarness, sb: Sandbox, store: Store) => Promise<void>; live: boolean }[] = [
  { what: 'every trial done exactly once; run again, nothing runs', scenario: exactlyOnce, live: false },
  { what: 'a failing trial is recorded with its error; the others complete', scenario: failureRecorded, live: false },
  { what: "a running trial's step, steps/s and ETA reach the progress events and sweep status", scenario: paceReported, live: true },
];
