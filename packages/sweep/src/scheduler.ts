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
import { fork, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnv, createLogger, InputError, type Logger } from '@orthoquant/runtime';
import {
  openStore,
  getSweep,
  requeueFailed,
  requeueStale,
  findStale,
  runningTrials,
  abandonTrial,
  releaseTrial,
  isStoreFault,
  sweepStatus as storeSweepStatus,
  checkpointBytes,
  listTrials,
  type ProvenanceInput,
  type Store,
  type SweepStatus,
} from '@orthoquant/store';
import { expandSweep, type Expansion } from './expand.js';
import { loadSweepFile, parseSweepText, type SweepSpec } from './spec.js';
import { DEFAULT_RUNNER_MODULE, loadRunner, runnerSpecifier } from './runner.js';
import { defineSweep } from './define.js';
import { preflightSweep } from './preflight.js';
import { checkOnly, selectTrials } from './only.js';
import type { CoordinatorMessage, WorkerArgs, WorkerMessage } from './worker.js';

export interface RunningTrialProgress {
  trialId: number;
  label: string;
  pid: number;
  attempt: number;
  step: number | null;
  /** The trial's step budget and recent pace, once its trainer reported them. */
  totalSteps: number | null;
  stepsPerSecond: number | null;
  /** Time left for this trial at its recent pace (null until known). */
  etaMs: number | null;
  metrics: Record<string, number>;
  startedAt: number;
}

/** Time left for a running trial at its recent pace, or null. */
export function trialEtaMs(step: number | null, totalSteps: number | null, stepsPerSecond: number | null): number | null {
  if (step === null || totalSteps === null || stepsPerSecond === null || !(stepsPerSecond > 0)) return null;
  return Math.max(0, Math.round(((totalSteps - step) / stepsPerSecond) * 1000));
}

/**
 * The sweep's time left: at this run's pace once a trial finished; before that, from the
 * running trials' own ETAs (the longest of them, plus the pending trials at the running
 * trials' mean duration spread over the workers); null when nothing is known yet.
 */
export function sweepEtaMs(p: { elapsedMs: number; finishedThisRun: number; pending: number; running: number; workers: number; trials: RunningTrialProgress[] }): number | null {
  if (p.finishedThisRun > 0) return Math.round((p.elapsedMs / p.finishedThisRun) * (p.pending + p.running));
  const known = p.trials.filter((t) => t.etaMs !== null && t.totalSteps !== null && t.stepsPerSecond !== null);
  if (known.length === 0 || known.length < p.trials.length) return null;
  const longest = Math.max(...known.map((t) => t.etaMs!));
  const meanDuration = known.reduce((a, t) => a + (t.totalSteps! / t.stepsPerSecond!) * 1000, 0) / known.length;
  return Math.round(longest + (p.pending * meanDuration) / Math.max(1, p.workers));
}

export interface SweepProgress {
  sweep: string;
  total: number;
  pending: number;
  running: number;
  done: number;
  failed: number;
  /** Trials this run finished (done or failed). */
  finishedThisRun: number;
  elapsedMs: number;
  /** Remaining time at this run's pace, once a trial has finished; else null. */
  etaMs: number | null;
  workers: number;
  trials: RunningTrialProgress[];
  /** What just happened, for logs and tickers. */
  event?: { type: 'claimed' | 'done' | 'failed' | 'released' | 'requeued' | 'worker-exit'; trialId?: number; label?: string; detail?: string };
}

export interface RunSweepOptions {
  /** The sweep file. */
  file?: string;
  /** Or an already parsed spec. */
  spec?: SweepSpec;
  /** Or the name of a sweep recorded in the store (resume from its stored YAML). */
  name?: string;
  /** Database path (default: ORTHOQUANT_DB or ./orthoquant.db), or an open store. */
  dbPath?: string;
  store?: Store;
  /** Worker processes (default: number of cores). */
  workers?: number;
  /** Stop at the first failed trial (running trials are released, not failed). */
  failFast?: boolean;
  /** Re-define the sweep even if its trial set changed (old trials are kept). */
  force?: boolean;
  /** Re-run trials that failed in an earlier run (default true). */
  retryFailed?: boolean;
  /**
   * Run only the trials that match this filter (the store's grammar: `seed = 0 and
   * params.model.type = hadamrnn`); the sweep is still registered whole.
   */
  only?: string;
  /** Module exporting runTrial (default '@orthoquant/train'): package name or path. */
  runnerModule?: string;
  onProgress?: (p: SweepProgress) => void;
  /** Abort = stop: running trials go back to the queue, the promise resolves. */
  signal?: AbortSignal;
  /** JSON log of the sweep (default <db dir>/logs/<sweep>.jsonl). */
  logFile?: string;
  /** Per-trial checkpoint folders go under this (default <db dir>/runs). */
  checkpointRoot?: string;
  logger?: Logger;
  heartbeatMs?: number;
  /** A running trial without heartbeat for this long is considered abandoned (default 60 s). */
  staleAfterMs?: number;
  /** Claims before a trial whose worker keeps dying is marked failed (default 2). */
  maxAttempts?: number;
  /** Keep every checkpoint of finished trials (default: each keeps its last one). */
  keepCheckpoints?: boolean;
  /** Per-trial wall-clock limit; the trial fails when it is exceeded (default none). */
  trialTimeoutMs?: number;
  /** How long a stopping worker waits for the runner to honour the abort (default 5 s). */
  graceMs?: number;
  pollMs?: number;
}

export interface SweepResult {
  name: string;
  dbPath: string;
  logFile: string;
  total: number;
  done: number;
  failed: number;
  pending: number;
  running: number;
  /** Trials this run finished. */
  ranThisRun: number;
  /** Trials that were already done when the run started (this or another sweep). */
  alreadyDone: number;
  /** Trials of the sweep left out by `only` (not counted in total/done/… above). */
  excluded: number;
  /** Why the run ended early, if it did. */
  stopped: 'fail-fast' | 'aborted' | null;
  durationMs: number;
  failures: { trialId: number; label: string; error: string }[];
  /** Checkpoint files the sweep's trials have on disk now, and their bytes (local sweeps). */
  checkpoints?: { files: number; bytes: number };
}

export { SweepChangedError } from './errors.js';

const here = fileURLToPath(import.meta.url);
const WORKER_FILE = join(dirname(here), here.endsWith('.ts') ? 'worker.ts' : 'worker.js');

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

/** Node flags for the workers: the parent's (tsx, conditions), minus test-runner and inspector ones. */
function workerExecArgv(): string[] {
  return process.execArgv.filter((a) => !a.startsWith('--test') && !a.startsWith('--inspect') && !a.startsWith('--watch'));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The workers' environment: the cores are shared among them, so each worker's kernels get
 * ⌊cores / workers⌋ threads (at least 1) unless ORTHOQUANT_THREADS says otherwise.
 */
export function workerEnv(workers: number, env: NodeJS.ProcessEnv = childEnv(), cores = availableParallelism()): NodeJS.ProcessEnv {
  if (env.ORTHOQUANT_THREADS) return env;
  return { ...env, ORTHOQUANT_THREADS: String(Math.max(1, Math.floor(cores / Math.max(1, workers)))) };
}

interface Spawned {
  child: ChildProcess;
  pid: number;
  ready: boolean;
  finishedAny: boolean;
  current: number | null;
  stderr: string;
  fatal: string | null;
  exited: boolean;
  /** Why the coordinator killed it, if it did. */
  killedFor: string | null;
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
  const spec = opts.spec ?? (opts.file ? loadSweepFile(opts.file) : opts.name ? storedSpec(store, opts.name) : null);
  if (!spec) throw new InputError('runSweep: give a sweep file, a parsed spec, or the name of a recorded sweep');
  checkOnly(opts.only);
  const runnerModule = runnerSpecifier(opts.runnerModule ?? DEFAULT_RUNNER_MODULE);
  const runner = await loadRunner(runnerModule);
  const expansion: Expansion = expandSweep(spec, runner.parseTrialConfig ? { resolve: (c, where) => runner.parseTrialConfig!(c, where) } : {});
  const dbDir = store.path === ':memory:' ? process.cwd() : dirname(store.path);
  const logFile = resolve(opts.logFile ?? join(dbDir, 'logs', `${spec.name}.jsonl`));
  const checkpointRoot = resolve(opts.checkpointRoot ?? join(dbDir, 'runs'));
  const log = (opts.logger ?? createLogger({ name: 'sweep', file: logFile })).child({ sweep: spec.name });
  const labels = new Map(expansion.trials.map((t) => [t.hash, t.label]));

  const reg = defineSweep(store, spec, expansion, { force: opts.force, log });
  const sweepId = reg.sweep.id;
  const selection = selectTrials(store, spec.name, opts.only);
  const retried = opts.retryFailed === false ? 0 : requeueFailed(store, sweepId, selection);
  const staleAfterMs = opts.staleAfterMs ?? 60_000;
  for (const t of requeueStale(store, { sweepId, staleAfterMs })) log.warn({ trialId: t.trialId, reason: t.reason }, 're-queued an interrupted trial');

  await preflightSweep(runner, store, spec.name, { selection, labels });
  const initial = storeSweepStatus(store, spec.name, { trialIds: selection });
  const alreadyDone = initial.done;
  log.info(
    { total: initial.total, pending: initial.pending, done: initial.done, excluded: initial.excluded, inserted: reg.inserted, reused: reg.reused, retried, logFile },
    `sweep ${reg.created ? 'created' : 'resumed'}: ${initial.total} trials, ${initial.done} done, ${initial.pending} to run` +
      (selection ? ` (--only '${opts.only}': ${initial.excluded} of ${initial.total + initial.excluded} trials left out)` : ''),
  );

  const provenance: ProvenanceInput = (() => {
    const g = gitState(dirname(here));
    return { packageVersion: packageVersion(), gitCommit: g.commit, gitDirty: g.dirty, nodeVersion: process.version, host: hostname() };
  })();
  const nWorkers = Math.max(1, Math.floor(opts.workers ?? availableParallelism()));
  const args: WorkerArgs = {
    dbPath: store.path,
    sweepId,
    sweepName: spec.name,
    runnerModule,
    logFile,
    checkpointRoot,
    heartbeatMs: opts.heartbeatMs ?? 5000,
    graceMs: opts.graceMs ?? 5000,
    trialTimeoutMs: opts.trialTimeoutMs ?? null,
    provenance,
    keepCheckpoints: opts.keepCheckpoints ?? false,
    trialIds: selection ? [...selection] : null,
  };
  if (store.path === ':memory:') throw new InputError('runSweep: workers need a database file, not :memory:');

  const workers = new Map<number, Spawned>();
  const live = new Map<number, RunningTrialProgress>();
  const failures: SweepResult['failures'] = [];
  let finishedThisRun = 0;
  let stopped: SweepResult['stopped'] = null;
  let idleSpawns = 0;
  let fatal: string | null = null;
  // the store cannot be written (full disk, read-only, corrupt): the sweep stops with this error,
  // its running trials given back (not failed), and the same command continues once it is fixed
  let storeFault: Error | null = null;
  const maxAttempts = opts.maxAttempts ?? 2;

  const emit = (status: SweepStatus, event?: SweepProgress['event']) => {
    if (!opts.onProgress) return;
    const elapsedMs = Date.now() - started;
    const remaining = status.pending + status.running;
    const p: SweepProgress = {
      sweep: spec.name,
      total: status.total,
      pending: status.pending,
      running: status.running,
      done: status.done,
      failed: status.failed,
      finishedThisRun,
      elapsedMs,
      etaMs: null,
      workers: [...workers.values()].filter((w) => !w.exited).length,
      trials: [...live.values()],
    };
    p.etaMs = sweepEtaMs({ ...p, workers: Math.max(1, Math.min(nWorkers, remaining)) });
    if (event) p.event = event;
    try {
      opts.onProgress(p);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'onProgress threw');
    }
  };
  const statusNow = () => storeSweepStatus(store, spec.name, { trialIds: selection });
  const labelOf = (trialId: number, hash?: string) => (hash ? labels.get(hash) : undefined) ?? `trial ${trialId}`;

  const stopAll = (reason: string) => {
    for (const w of workers.values()) {
      if (w.exited || !w.child.connected) continue;
      try {
        w.child.send({ type: 'stop', reason } satisfies CoordinatorMessage);
      } catch {
        // already gone
      }
    }
  };

  const onMessage = (w: Spawned, m: WorkerMessage) => {
    switch (m.type) {
      case 'ready':
        w.ready = true;
        break;
      case 'claimed': {
        w.current = m.trialId;
        const label = labelOf(m.trialId, m.hash);
        live.set(m.trialId, { trialId: m.trialId, label, pid: w.pid, attempt: m.attempt, step: null, totalSteps: null, stepsPerSecond: null, etaMs: null, metrics: {}, startedAt: Date.now() });
        log.info({ trialId: m.trialId, pid: w.pid, attempt: m.attempt }, `trial ${m.trialId} started: ${label}`);
        emit(statusNow(), { type: 'claimed', trialId: m.trialId, label });
        break;
      }
      case 'progress': {
        const t = live.get(m.trialId);
        if (t) {
          t.step = m.step;
          t.metrics = m.metrics;
          t.totalSteps = m.totalSteps ?? null;
          t.stepsPerSecond = m.stepsPerSecond ?? null;
          t.etaMs = trialEtaMs(t.step, t.totalSteps, t.stepsPerSecond);
        }
        break;
      }
      case 'finished': {
        w.current = null;
        w.finishedAny = true;
        const t = live.get(m.trialId);
        live.delete(m.trialId);
        const label = t?.label ?? labelOf(m.trialId);
        if (m.outcome === 'done' || m.outcome === 'failed') finishedThisRun++;
        if (m.outcome === 'failed') {
          failures.push({ trialId: m.trialId, label, error: m.error ?? 'unknown error' });
          log.error({ trialId: m.trialId, err: m.error }, `trial ${m.trialId} failed: ${label}`);
          if (opts.failFast && !stopped) {
            stopped = 'fail-fast';
            log.warn('fail-fast: stopping the sweep');
            stopAll('fail-fast');
          }
        } else log.info({ trialId: m.trialId, outcome: m.outcome }, `trial ${m.trialId} ${m.outcome}: ${label}`);
        emit(statusNow(), { type: m.outcome === 'lost' ? 'requeued' : m.outcome, trialId: m.trialId, label, ...(m.error ? { detail: m.error } : {}) });
        break;
      }
      case 'fatal':
        w.fatal = m.error;
        if (m.storeFault) onStoreFault(new InputError(m.error));
        break;
    }
  };

  const onStoreFault = (e: Error) => {
    if (storeFault) return;
    storeFault = e;
    log.error({ err: e.message }, 'the store cannot be written; stopping the sweep');
    stopAll('the store cannot be written');
  };

  const onExit = (w: Spawned, code: number | null, signal: NodeJS.Signals | null) => {
    w.exited = true;
    if (w.fatal) fatal = w.fatal;
    try {
      releaseHeld(w, code, signal);
    } catch (e) {
      if (!isStoreFault(e)) throw e;
      onStoreFault(e);
    }
    if (!w.finishedAny) idleSpawns++;
    else idleSpawns = 0;
    if (code !== 0 || signal) log.warn({ pid: w.pid, code, signal }, 'worker exited abnormally');
  };

  /** Whatever an exited worker still held: re-queued, or failed after maxAttempts (given back when the store was at fault). */
  const releaseHeld = (w: Spawned, code: number | null, signal: NodeJS.Signals | null) => {
    for (const t of runningTrials(store, { sweepId, pid: w.pid, host: hostname() })) {
      if (storeFault) {
        if (releaseTrial(store, t)) live.delete(t.trialId);
        continue;
      }
      const how = w.killedFor ? `was killed: ${w.killedFor}` : `exited (${signal ?? `code ${code}`})`;
      const why = `worker ${w.pid} ${how}${w.stderr.trim() ? `: ${w.stderr.trim().split('\n').slice(-5).join(' | ')}` : ''}`;
      const outcome = abandonTrial(store, t, why, maxAttempts);
      const label = live.get(t.trialId)?.label ?? labelOf(t.trialId);
      live.delete(t.trialId);
      log.warn({ trialId: t.trialId, outcome, code, signal }, `trial ${t.trialId} ${outcome === 'failed' ? 'failed' : 're-queued'}: ${why}`);
      if (outcome === 'failed') {
        finishedThisRun++;
        failures.push({ trialId: t.trialId, label, error: `${why} (attempt ${t.attempt} of ${maxAttempts})` });
        if (opts.failFast && !stopped) {
          stopped = 'fail-fast';
          stopAll('fail-fast');
        }
      }
      emit(statusNow(), { type: outcome === 'failed' ? 'failed' : 'requeued', trialId: t.trialId, label, detail: why });
    }
  };

  const spawn = () => {
    const child = fork(WORKER_FILE, [JSON.stringify(args)], { execArgv: workerExecArgv(), stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: workerEnv(nWorkers) });
    const w: Spawned = { child, pid: child.pid ?? -1, ready: false, finishedAny: false, current: null, stderr: '', fatal: null, exited: false, killedFor: null };
    workers.set(w.pid, w);
    child.on('message', (m: WorkerMessage) => onMessage(w, m));
    child.stdout?.on('data', (d: Buffer) => log.debug({ pid: w.pid }, d.toString().trimEnd()));
    child.stderr?.on('data', (d: Buffer) => {
      w.stderr = (w.stderr + d.toString()).slice(-4000);
    });
    child.on('exit', (code, signal) => onExit(w, code, signal));
    child.on('error', (e) => log.error({ pid: w.pid, err: e.message }, 'worker process error'));
    log.debug({ pid: w.pid }, 'worker started');
  };

  const onAbort = () => {
    if (!stopped) {
      stopped = 'aborted';
      log.warn('sweep stopped: running trials go back to the queue');
      stopAll('sweep aborted');
    }
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const pollMs = opts.pollMs ?? 250;
  let lastEmit = 0;
  try {
    for (;;) {
      const alive = [...workers.values()].filter((w) => !w.exited);
      // in-run stale detection: our own worker with a silent heartbeat is killed (onExit then
      // abandons its trial); anyone else's abandoned trial is simply re-queued
      for (const s of findStale(store, { sweepId, staleAfterMs })) {
        const mine = alive.find((w) => w.pid === s.pid && s.host === hostname());
        if (mine) {
          log.warn({ trialId: s.trialId, pid: mine.pid, reason: s.reason }, 'worker unresponsive; killing it');
          mine.killedFor = `unresponsive (${s.reason})`;
          mine.child.kill('SIGKILL');
        } else if (requeueStale(store, { sweepId, staleAfterMs }).length) {
          emit(statusNow(), { type: 'requeued', trialId: s.trialId, detail: s.reason });
        }
      }
      if (storeFault) throw storeFault;
      const st = statusNow();
      if (fatal && idleSpawns >= nWorkers) throw new Error(`sweep '${spec.name}': workers cannot start: ${fatal}`);
      if (idleSpawns >= nWorkers * 3) throw new Error(`sweep '${spec.name}': ${idleSpawns} workers in a row exited without finishing a trial${fatal ? `: ${fatal}` : ''}`);
      if (!stopped && st.pending > 0) {
        const want = Math.min(nWorkers, st.pending + st.running) - alive.length;
        for (let i = 0; i < want; i++) spawn();
      }
      const aliveNow = [...workers.values()].filter((w) => !w.exited).length;
      if (aliveNow === 0 && (stopped || (st.pending === 0 && st.running === 0))) break;
      if (Date.now() - lastEmit >= 1000) {
        lastEmit = Date.now();
        emit(st);
      }
      await sleep(pollMs);
    }
  } catch (e) {
    stopAll('coordinator error');
    await waitForExit(workers, (opts.graceMs ?? 5000) + 2000);
    if (isStoreFault(e)) onStoreFault(e);
    throw storeFault ?? e;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }

  const fin = statusNow();
  emit(fin);
  const result: SweepResult = {
    name: spec.name,
    dbPath: store.path,
    logFile,
    total: fin.total,
    done: fin.done,
    failed: fin.failed,
    pending: fin.pending,
    running: fin.running,
    ranThisRun: finishedThisRun,
    alreadyDone,
    excluded: fin.excluded,
    stopped,
    durationMs: Date.now() - started,
    failures,
    checkpoints: checkpointBytes(
      store,
      listTrials(store, { sweep: spec.name, summaryKeys: [] }).map((t) => t.id),
    ),
  };
  log.info({ ...result, failures: failures.length }, `sweep ${stopped ? `stopped (${stopped})` : 'finished'}: ${fin.done} done, ${fin.failed} failed, ${fin.pending} pending`);
  return result;
}

async function waitForExit(workers: Map<number, Spawned>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && [...workers.values()].some((w) => !w.exited)) await sleep(50);
  for (const w of workers.values()) if (!w.exited) w.child.kill('SIGKILL');
}

function storedSpec(store: Store, name: string): SweepSpec {
  const sw = getSweep(store, name);
  if (!sw) storeSweepStatus(store, name); // throws: unknown sweep, naming the known ones
  return parseSweepText(sw!.spec, sw!.specPath ? { file: sw!.specPath } : { file: name });
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
