/**
 * The sweep scheduler: register a sweep's trials in the store, then run the pending ones in N
 * worker processes until none is left.
 *
 * Design (multi-process SQLite, workers write directly):
 * - Each worker claims a trial with one atomic UPDATE (BEGIN IMMEDIATE), streams its metrics
 *   in batched transactions, heartbeats, and writes the summary itself. The coordinator
 *   never relays data, so it is not a bottleneck and its death loses nothing already
 *   recorded. WAL lets the coordinator (and a dashboard) read while workers write.
 * - Every worker write is fenced by its lease (trial id + attempt number + worker id): once a
 *   trial has been re-queued, a late write from the old worker changes nothing. That is what
 *   makes "every trial done exactly once" hold whatever gets killed.
 * - Coordinator killed (kill -9): its workers see the IPC channel close, abort and release
 *   their trials, and exit. Everything killed (power loss): trials stay `running` with a dead
 *   pid / old heartbeat; the next run re-queues them (`requeueStale`) and continues.
 * - A worker that crashes while holding a trial: the trial is re-queued, and marked failed
 *   once it has been claimed `maxAttempts` times. A worker whose heartbeat stops (a blocked
 *   event loop) is killed and treated the same way.
 * - Re-running a sweep: done trials are never run again (Guild's --needed, also across
 *   sweeps: a config hash already done anywhere is reused), failed ones are retried unless
 *   `retryFailed: false`, and a YAML whose trial set changed is refused unless `force`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, sweepStatus as storeSweepStatus, checkpointBytes, listTrials, type Store, type SweepStatus } from '@orthoquant/store';
import { dbDir, openSession, type OpenSessionOptions, type SweepResult } from './session.js';
import { LocalExecutor, type LocalExecutorOptions } from './local.js';

export { trialEtaMs, sweepEtaMs } from './session.js';
export type { RunningTrialProgress, SweepProgress, SweepResult } from './session.js';
export { workerEnv } from './local.js';

/** The sweep (see `OpenSessionOptions`), the store, and how the local workers run it (see `LocalExecutorOptions`). */
export interface RunSweepOptions extends OpenSessionOptions, Omit<LocalExecutorOptions, 'checkpointRoot' | 'provenance'> {
  /** Database path (default: ORTHOQUANT_DB or ./orthoquant.db), or an open store. */
  dbPath?: string;
  store?: Store;
  /** Per-trial checkpoint folders go under this (default <db dir>/runs). */
  checkpointRoot?: string;
}

export { SweepChangedError } from './errors.js';

const here = fileURLToPath(import.meta.url);

function packageVersion(): string | null {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

function gitState(cwd: string): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString();
    return { commit, dirty: status.trim() !== '' };
  } catch {
    return { commit: null, dirty: null };
  }
}

/**
 * Load, expand, register and run a sweep. Resolves when no trial of the sweep is pending or
 * running (or when stopped); rejects on bad input before anything is recorded.
 */
export async function runSweep(opts: RunSweepOptions): Promise<SweepResult> {
  const started = Date.now();
  const ownStore = !opts.store;
  const store = opts.store ?? openStore(opts.dbPath);
  try {
    return await run(store, opts, started);
  } finally {
    if (ownStore) store.close();
  }
}

async function run(store: Store, opts: RunSweepOptions, started: number): Promise<SweepResult> {
  const exec = new LocalExecutor({
    ...opts,
    checkpointRoot: resolve(opts.checkpointRoot ?? join(dbDir(store), 'runs')),
    provenance: (() => {
      const g = gitState(dirname(here));
      return { packageVersion: packageVersion(), gitCommit: g.commit, gitDirty: g.dirty, nodeVersion: process.version, host: hostname() };
    })(),
  });
  const session = await openSession(store, opts, { loggerName: 'sweep', started, staleAfterMs: opts.staleAfterMs ?? 60_000, workers: () => exec.workerCount() });
  await exec.run(session);
  return session.finish({
    checkpoints: checkpointBytes(
      store,
      listTrials(store, { sweep: session.name, summaryKeys: [] }).map((t) => t.id),
    ),
  });
}

/** Status counts of a recorded sweep, from an open store or a database path. */
export function sweepStatus(db: Store | string | undefined, name: string): SweepStatus {
  if (db && typeof db !== 'string') return storeSweepStatus(db, name);
  const store = openStore(db, { readonly: false });
  try {
    return storeSweepStatus(store, name);
  } finally {
    store.close();
  }
}
