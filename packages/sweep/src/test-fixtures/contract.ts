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
 * - resume after kill -9: every process the executor runs is SIGKILLed while one trial is done
 *   and others are mid-run past a checkpoint; the next run records every trial done exactly
 *   once, metric rows without a duplicate or a gap; each unfinished trial starts exactly once
 *   more, an interrupted one from its checkpoint; a trial recorded done never runs again (one
 *   whose training ended but whose result was not recorded yet runs once more, from its last
 *   checkpoint).
 * - SIGTERM requeues: the same moment, but a graceful stop: what finished is recorded, the
 *   running trials are given back (pending, no error, not failed), and the next run finishes
 *   the rest the same way, nothing that finished run again.
 *
 * Each harness kills and stops its executor its own way (`ExecutorHarness.start`); what the
 * trainer did is read from the fake trainer's journal, whatever executor ran it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { listTrials, runningTrials, sweepStatus, type Store } from '@orthoquant/store';
import { duplicateMetricRows, integrityCheck, metricRowCount, metricSpans } from '@orthoquant/store/testing';
import type { SweepProgress } from '../session.js';
import { waitFor, type Sandbox } from './helpers.js';

/** A sweep an executor runs in the background (its own processes), to be killed or stopped mid-trial. */
export interface RunningSweep {
  /** SIGKILL every process the executor runs (coordinator, workers, trial processes); resolves once none is left. */
  kill(): Promise<void>;
  /**
   * SIGTERM them, a graceful stop; resolves once they have exited and the trials they were
   * running are given back in the store.
   */
  terminate(): Promise<void>;
  /** The executor's own checks once it was killed or stopped, before the next run. */
  checkStopped?(store: Store, how: Interruption): void | Promise<void>;
  /** The executor's own checks once the next run finished every trial. */
  checkResumed?(store: Store, how: Interruption): void | Promise<void>;
}

export type Interruption = 'kill' | 'term';

/** How one executor runs a sweep file to its end, for the contract scenarios. */
export interface ExecutorHarness {
  name: string;
  /** Where the fake trainer appends a trial's config id each time it runs to completion (its journal: `.journal` after it). */
  completionLog: string;
  /** Run the sweep until no trial is pending or running; the counts it ends with. */
  run(store: Store, file: string, opts?: { onProgress?: (p: SweepProgress) => void }): Promise<{ done: number; failed: number }>;
  /** Start running the sweep in the background, with two trials at a time. */
  start(store: Store, file: string): Promise<RunningSweep>;
}

/** One trial in the fake trainer's journal (`id:seed`): the step each run started at, its checkpoints, how often it completed. */
export interface JournalTrial {
  starts: number[];
  checkpoints: number[];
  done: number;
}

/** The fake trainer's journal of the trials whose id starts with `prefix`, by `id:seed`. */
export function readJournal(completionLog: string, prefix: string): Map<string, JournalTrial> {
  const out = new Map<string, JournalTrial>();
  const file = `${completionLog}.journal`;
  if (!existsSync(file)) return out;
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop(); // '' after the last newline, or a line still being written
  for (const line of lines) {
    const [event, key, step] = line.split(' ');
    if (!key?.startsWith(prefix) || step === undefined) continue;
    const t = out.get(key) ?? { starts: [], checkpoints: [], done: 0 };
    out.set(key, t);
    if (event === 'start') t.starts.push(Number(step));
    else if (event === 'checkpoint') t.checkpoints.push(Number(step));
    else if (event === 'done') t.done++;
  }
  return out;
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

/** Every step of every trial of the sweep has its loss and acc row: `steps` distinct steps from 0, none twice, none missing. */
export function assertNoStepGaps(store: Store, sweep: string, steps: number): void {
  const ids = new Set(listTrials(store, { sweep, summaryKeys: [] }).map((t) => t.id));
  const spans = metricSpans(store).filter((x) => ids.has(x.trialId) && (x.key === 'loss' || x.key === 'acc'));
  assert.equal(spans.length, ids.size * 2, 'a loss and an acc series per trial');
  for (const x of spans) assert.deepEqual([x.n, x.distinct, x.lo, x.hi], [steps, steps, 0, steps - 1], `trial ${x.trialId} ${x.key}: rows, distinct steps, first and last`);
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

/**
 * Contract: killed (`kill`: SIGKILL of every process) or stopped (`term`: SIGTERM, a graceful
 * stop) while a trial is done and others are mid-run past a checkpoint; run again, every trial
 * ends done exactly once.
 */
async function interrupted(h: ExecutorHarness, sb: Sandbox, store: Store, how: Interruption): Promise<void> {
  const name = `${how}-${h.name}`;
  const [N, STEPS] = [4, 60];
  const file = sb.write(`${name}.yaml`, `name: ${name}\nparameters:\n  id: { values: [${name}-a, ${name}-b] }\n  steps: { value: ${STEPS} }\n  stepMs: { value: 40 }\n  checkpointEvery: { value: 5 }\nseeds: [0, 1]\n`);
  const journal = () => readJournal(h.completionLog, name);
  const bg = await h.start(store, file);
  try {
    // two at a time: the first two finish, the next two get under way. The one to cut is past
    // its second checkpoint and at least half its steps (1.2 s) from its end — not the first
    // pair's other trial, which started with the one done and is about to finish itself
    await waitFor(`${h.name}: a trial done and another past its second checkpoint, far from its end`, () => {
      const j = [...journal().values()];
      return j.some((t) => t.done > 0) && j.some((t) => t.done === 0 && t.checkpoints.length >= 2 && t.checkpoints.at(-1)! <= STEPS / 2);
    }, 60_000);
    await (how === 'kill' ? bg.kill() : bg.terminate());
  } catch (e) {
    await bg.kill();
    throw e;
  }
  const before = journal();
  const doneBefore = [...before].filter(([, t]) => t.done > 0).map(([k]) => k);
  const cut = [...before].filter(([, t]) => t.done === 0 && t.checkpoints.length > 0).map(([k]) => k);
  assert.ok(doneBefore.length >= 1 && doneBefore.length < N, `${h.name}: stopped with ${doneBefore.length} of ${N} trials done`);
  assert.ok(cut.length >= 1, `${h.name}: a trial was interrupted past a checkpoint`);
  assert.equal(
    [...before.values()].reduce((a, t) => a + t.done, 0),
    doneBefore.length,
    `${h.name}: no trial completed twice`,
  );
  const trials = new Map(listTrials(store, { sweep: name, summaryKeys: [] }).map((t) => [`${String(t.config.id)}:${String(t.config.seed)}`, t]));
  const recorded = [...trials].filter(([, t]) => t.status === 'done').map(([k]) => k);
  if (how === 'term') {
    // a graceful stop records what finished, and gives the rest back: pending, not failed, no error
    assert.deepEqual(recorded.sort(), [...doneBefore].sort(), `${h.name}: every trial that finished is recorded done`);
    for (const k of cut) assert.deepEqual([trials.get(k)?.status, trials.get(k)?.error], ['pending', null], `${h.name}: trial ${k} given back`);
    assert.deepEqual([...trials.values()].filter((t) => t.status === 'failed' || t.status === 'running').map((t) => t.id), [], `${h.name}: none failed or left running`);
  }
  await bg.checkStopped?.(store, how);

  const r = await h.run(store, file);
  assert.deepEqual([r.done, r.failed], [N, 0], `${h.name}: result counts of the run after the ${how}`);
  assertAllDoneOnce(store, name, N, STEPS);
  assertNoStepGaps(store, name, STEPS);
  assert.equal(integrityCheck(store), 'ok');
  const after = journal();
  assert.equal(after.size, N);
  for (const [k, t] of after) {
    const again = t.starts.length - (before.get(k)?.starts.length ?? 0);
    assert.equal(t.done - (before.get(k)?.done ?? 0), again, `${h.name}: ${k}: each run after the ${how} ran to completion`);
    if (recorded.includes(k)) assert.equal(again, 0, `${h.name}: ${k} was recorded done, and not run again`);
    else if (doneBefore.includes(k)) {
      // killed between the end of its training and its record: run again, from its last checkpoint
      assert.ok(again <= 1 && (again === 0 || t.starts.at(-1)! > 0), `${h.name}: ${k} finished but unrecorded, started again at ${JSON.stringify(t.starts)}`);
    } else assert.equal(again, 1, `${h.name}: ${k} started ${again} times after the ${how}`);
  }
  const resumed = cut.filter((k) => after.get(k)!.starts.at(-1)! > 0);
  assert.ok(resumed.length >= 1, `${h.name}: an interrupted trial continued from its checkpoint (restarts: ${JSON.stringify(cut.map((k) => [k, after.get(k)!.starts]))})`);
  await bg.checkResumed?.(store, how);
}

/** Contract: resume after kill -9 of every process of the executor. */
export const resumeAfterKill = (h: ExecutorHarness, sb: Sandbox, store: Store) => interrupted(h, sb, store, 'kill');
/** Contract: SIGTERM gives the running trials back; the next run finishes everything once. */
export const requeueOnSigterm = (h: ExecutorHarness, sb: Sandbox, store: Store) => interrupted(h, sb, store, 'term');

/** The contract's scenarios by what they check, for each executor's test file to run (`live`: needs progress events). */
export const CONTRACT: readonly { what: string; scenario: (h: ExecutorHarness, sb: Sandbox, store: Store) => Promise<void>; live: boolean }[] = [
  { what: 'every trial done exactly once; run again, nothing runs', scenario: exactlyOnce, live: false },
  { what: 'a failing trial is recorded with its error; the others complete', scenario: failureRecorded, live: false },
  { what: "a running trial's step, steps/s and ETA reach the progress events and sweep status", scenario: paceReported, live: true },
  { what: 'killed with SIGKILL mid-trial, then run again: every trial done exactly once, interrupted ones resumed from their checkpoint', scenario: resumeAfterKill, live: false },
  { what: 'SIGTERM gives the running trials back; run again: every trial done exactly once, no gap or duplicate metric row', scenario: requeueOnSigterm, live: false },
];
