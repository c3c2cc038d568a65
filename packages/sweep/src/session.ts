/**
 * One sweep session, whatever runs its trials: prepare (load the spec, expand, register,
 * select, retry failed, preflight), then follow the trials an executor runs (claimed,
 * progress, finished) into progress events, and assemble the result.
 *
 * Executors only run trials: the local one forks worker processes (local.ts), the queue one
 * enqueues BullMQ jobs and records what remote workers report (queue/coordinator.ts); Slurm
 * exports an array job and ingests its results (queue/slurm.ts, which prepares through here).
 */
import { dirname, join, resolve } from 'node:path';
import { createLogger, InputError, type Logger } from '@orthoquant/runtime';
import {
  failTrial,
  finishTrial,
  getSweep,
  listTrials,
  recordArtifact,
  recordMetrics,
  recordProvenance,
  requeueFailed,
  requeueStale,
  sweepStatus as storeSweepStatus,
  type ArtifactInput,
  type Lease,
  type MetricPoint,
  type ProvenanceInput,
  type Store,
  type SweepStatus,
} from '@orthoquant/store';
import { expandSweep } from './expand.js';
import { loadSweepFile, parseSweepText, type SweepSpec } from './spec.js';
import { DEFAULT_RUNNER_MODULE, loadRunner, runnerSpecifier, type TrialRunnerModule } from './runner.js';
import { defineSweep } from './define.js';
import { preflightSweep } from './preflight.js';
import { checkOnly, selectTrials } from './only.js';

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

export interface PrepareSweepOptions {
  /** The sweep file. */
  file?: string;
  /** Or an already parsed spec. */
  spec?: SweepSpec;
  /** Or the name of a sweep recorded in the store (resume from its stored YAML). */
  name?: string;
  /** Re-define the sweep even if its trial set changed (old trials are kept). */
  force?: boolean;
  /** Re-run trials that failed in an earlier run (default true). */
  retryFailed?: boolean;
  /**
   * Run only the trials that match this filter (the store's grammar: `seed = 0 and
   * params.model.type = hadamrnn`); the sweep is still registered whole.
   */
  only?: string;
  /** Module exporting runTrial (default '@orthoquant/sweep/ptq-runner'): package name or path. */
  runnerModule?: string;
  logger?: Logger;
}

export interface PreparedSweep {
  spec: SweepSpec;
  sweepId: number;
  runnerModule: string;
  runner: TrialRunnerModule;
  /** hash → label, for every trial of the sweep. */
  labels: Map<string, string>;
  /** Trials that were failed and are pending again (their jobs must be retried). */
  retriedIds: Set<number>;
  /** The `only` selection (undefined: every trial of the sweep). */
  selection: ReadonlySet<number> | undefined;
  /** What the registration did. */
  registered: { created: boolean; inserted: number; reused: number };
}

/** The sweep a session runs: a file, a parsed spec, or the YAML recorded with a sweep of the store. */
export function loadSweepSpec(store: Store, opts: Pick<PrepareSweepOptions, 'file' | 'spec' | 'name'>, what = 'give a sweep file, a parsed spec, or the name of a recorded sweep'): SweepSpec {
  const spec = opts.spec ?? (opts.file ? loadSweepFile(opts.file) : opts.name ? storedSpec(store, opts.name) : null);
  if (!spec) throw new InputError(what);
  return spec;
}

function storedSpec(store: Store, name: string): SweepSpec {
  const sw = getSweep(store, name);
  if (!sw) storeSweepStatus(store, name); // throws: unknown sweep, naming the known ones
  return parseSweepText(sw!.spec, sw!.specPath ? { file: sw!.specPath } : { file: name });
}

/**
 * Load, expand and register a sweep (a changed trial set is refused unless `force`), select
 * `only`, put failed trials back (unless `retryFailed: false`), re-queue trials left running by
 * dead workers (`staleAfterMs`, local runs) and preflight what is left to run.
 */
export async function prepareSweep(store: Store, opts: PrepareSweepOptions, log: Logger, local: { staleAfterMs?: number } = {}): Promise<PreparedSweep> {
  const spec = loadSweepSpec(store, opts);
  checkOnly(opts.only);
  const runnerModule = runnerSpecifier(opts.runnerModule ?? DEFAULT_RUNNER_MODULE);
  const runner = await loadRunner(runnerModule);
  const expansion = expandSweep(spec, runner.parseTrialConfig ? { resolve: (c, where) => runner.parseTrialConfig!(c, where) } : {});
  const labels = new Map(expansion.trials.map((t) => [t.hash, t.label]));
  const reg = defineSweep(store, spec, expansion, { force: opts.force, log });
  const selection = selectTrials(store, spec.name, opts.only);
  const retriedIds = new Set<number>();
  if (opts.retryFailed !== false) {
    for (const t of listTrials(store, { sweep: spec.name, summaryKeys: [] })) if (t.status === 'failed' && (!selection || selection.has(t.id))) retriedIds.add(t.id);
    requeueFailed(store, reg.sweep.id, selection);
  }
  if (local.staleAfterMs !== undefined) {
    for (const t of requeueStale(store, { sweepId: reg.sweep.id, staleAfterMs: local.staleAfterMs })) log.warn({ trialId: t.trialId, reason: t.reason }, 're-queued an interrupted trial');
  }
  await preflightSweep(runner, store, spec.name, { selection, labels });
  return { spec, sweepId: reg.sweep.id, runnerModule, runner, labels, retriedIds, selection, registered: { created: reg.created, inserted: reg.inserted, reused: reg.reused } };
}

/** The sweep, the store, and where a session logs (see `PrepareSweepOptions`). */
export interface OpenSessionOptions extends PrepareSweepOptions {
  onProgress?: (p: SweepProgress) => void;
  /** JSON log of the sweep (default <db dir>/logs/<sweep>.jsonl). */
  logFile?: string;
}

/**
 * Begin a run of a sweep, whatever executes it: its spec (a file, a parsed spec, or the YAML
 * recorded with the sweep), its JSON log, the prepared sweep (see `prepareSweep`) and the session
 * the executor reports to. `workers` tells the progress events how many workers run.
 */
export async function openSession(
  store: Store,
  opts: OpenSessionOptions,
  how: { loggerName: string; started: number; staleAfterMs?: number; workers: (s: SweepSession) => ReturnType<SessionOptions['workers']> },
): Promise<SweepSession> {
  const spec = loadSweepSpec(store, opts);
  const logFile = resolve(opts.logFile ?? join(dbDir(store), 'logs', `${spec.name}.jsonl`));
  const log = (opts.logger ?? createLogger({ name: how.loggerName, file: logFile })).child({ sweep: spec.name });
  const prep = await prepareSweep(store, { ...opts, spec }, log, how.staleAfterMs !== undefined ? { staleAfterMs: how.staleAfterMs } : {});
  const session: SweepSession = new SweepSession(store, prep, log, { onProgress: opts.onProgress, started: how.started, logFile, workers: () => how.workers(session) });
  const initial = session.status();
  log.info(
    { total: initial.total, pending: initial.pending, done: initial.done, excluded: initial.excluded, inserted: prep.registered.inserted, reused: prep.registered.reused, retried: prep.retriedIds.size, logFile },
    `sweep ${prep.registered.created ? 'created' : 'resumed'}: ${initial.total} trials, ${initial.done} done, ${initial.pending} to run` +
      (prep.selection ? ` (--only '${opts.only}': ${initial.excluded} of ${initial.total + initial.excluded} trials left out)` : ''),
  );
  return session;
}

/** The folder of the store's file (the working directory for an in-memory store). */
export function dbDir(store: Store): string {
  return store.path === ':memory:' ? process.cwd() : dirname(store.path);
}

export interface SessionOptions {
  onProgress?: (p: SweepProgress) => void;
  /** When the run started (its elapsed time and ETA count from here). */
  started: number;
  logFile: string;
  /** Workers running now, and how many to spread the `remaining` trials over for the ETA. */
  workers: () => { running: number; forEta: (remaining: number) => number };
}

/** What a sweep's executor reports to: the trials it runs, their progress and outcome. */
export class SweepSession {
  readonly live = new Map<number, RunningTrialProgress>();
  readonly failures: SweepResult['failures'] = [];
  finishedThisRun = 0;
  stopped: SweepResult['stopped'] = null;
  readonly alreadyDone: number;

  constructor(
    readonly store: Store,
    readonly prep: PreparedSweep,
    readonly log: Logger,
    private readonly o: SessionOptions,
  ) {
    this.alreadyDone = this.status().done;
  }

  get name(): string {
    return this.prep.spec.name;
  }

  /** The JSON log of this run. */
  get logFile(): string {
    return this.o.logFile;
  }

  /** The sweep's counts now (of the `only` selection). */
  status(): SweepStatus {
    return storeSweepStatus(this.store, this.name, { trialIds: this.prep.selection });
  }

  labelOf(trialId: number, hash?: string): string {
    return (hash ? this.prep.labels.get(hash) : undefined) ?? this.live.get(trialId)?.label ?? `trial ${trialId}`;
  }

  /** A progress event (with what just happened, if anything). */
  emit(event?: SweepProgress['event'], status: SweepStatus = this.status()): void {
    if (!this.o.onProgress) return;
    const w = this.o.workers();
    const p: SweepProgress = {
      sweep: this.name,
      total: status.total,
      pending: status.pending,
      running: status.running,
      done: status.done,
      failed: status.failed,
      finishedThisRun: this.finishedThisRun,
      elapsedMs: Date.now() - this.o.started,
      etaMs: null,
      workers: w.running,
      trials: [...this.live.values()],
    };
    p.etaMs = sweepEtaMs({ ...p, workers: w.forEta(status.pending + status.running) });
    if (event) p.event = event;
    try {
      this.o.onProgress(p);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'onProgress threw');
    }
  }

  /** A trial started running (`label`: its label, when the executor knows the hash). */
  claimed(trialId: number, at: { label: string; pid: number; attempt: number }): RunningTrialProgress {
    const t: RunningTrialProgress = { trialId, label: at.label, pid: at.pid, attempt: at.attempt, step: null, totalSteps: null, stepsPerSecond: null, etaMs: null, metrics: {}, startedAt: Date.now() };
    this.live.set(trialId, t);
    return t;
  }

  /** A trial started running: tracked, logged (with `where`: worker, run…) and announced. */
  started(trialId: number, at: { label: string; pid: number; attempt: number }, where: Record<string, unknown> = {}): RunningTrialProgress {
    const t = this.claimed(trialId, at);
    this.log.info({ trialId, attempt: at.attempt, ...where }, `trial ${trialId} started: ${at.label}`);
    this.emit({ type: 'claimed', trialId, label: at.label });
    return t;
  }

  /**
   * A trial left the running set (see `finished`): logged — a failure as an error, a trial
   * re-queued because its worker died as a warning — and announced with `detail` (default: the error).
   */
  ended(trialId: number, outcome: 'done' | 'failed' | 'released' | 'requeued', o: { error?: string; label?: string; detail?: string; why?: string } = {}): string {
    const label = this.finished(trialId, outcome, o.error, o.label ?? this.labelOf(trialId));
    if (outcome === 'failed') this.log.error({ trialId, err: o.error }, `trial ${trialId} failed: ${label}`);
    else if (outcome === 'requeued') this.log.warn({ trialId, reason: o.why }, `trial ${trialId} re-queued: ${label}${o.why ? `: ${o.why}` : ''}`);
    else this.log.info({ trialId, outcome }, `trial ${trialId} ${outcome === 'released' ? 'given back to the queue' : outcome}: ${label}`);
    const detail = o.detail ?? o.why ?? o.error;
    this.emit({ type: outcome, trialId, label, ...(detail ? { detail } : {}) });
    return label;
  }

  /** Where a running trial is. */
  progress(trialId: number, p: { step: number | null; metrics?: Record<string, number>; totalSteps?: number | null; stepsPerSecond?: number | null }): void {
    const t = this.live.get(trialId);
    if (!t) return;
    t.step = p.step;
    if (p.metrics) t.metrics = p.metrics;
    if (p.totalSteps !== undefined) t.totalSteps = p.totalSteps;
    if (p.stepsPerSecond !== undefined) t.stepsPerSecond = p.stepsPerSecond;
    t.etaMs = trialEtaMs(t.step, t.totalSteps, t.stepsPerSecond);
  }

  /**
   * A trial left the running set: `done` and `failed` count as finished by this run (a failure
   * is listed with its error); `released`/`requeued` went back to the queue.
   */
  finished(trialId: number, outcome: 'done' | 'failed' | 'released' | 'requeued', error?: string, label = this.labelOf(trialId)): string {
    this.live.delete(trialId);
    if (outcome === 'done' || outcome === 'failed') this.finishedThisRun++;
    if (outcome === 'failed') this.failures.push({ trialId, label, error: error ?? 'unknown error' });
    return label;
  }

  /** The run is over: a last progress event, its result (as `runSweep` and `runQueueSweep` resolve it) logged and returned. */
  finish(extra: Pick<SweepResult, 'checkpoints'> = {}): SweepResult {
    this.emit();
    const r = this.result(extra);
    this.log.info({ ...r, failures: r.failures.length }, `sweep ${r.stopped ? `stopped (${r.stopped})` : 'finished'}: ${r.done} done, ${r.failed} failed, ${r.pending + r.running} unfinished`);
    return r;
  }

  /** The run's result now. */
  result(extra: Pick<SweepResult, 'checkpoints'> = {}): SweepResult {
    const fin = this.status();
    return {
      name: this.name,
      dbPath: this.store.path,
      logFile: this.o.logFile,
      total: fin.total,
      done: fin.done,
      failed: fin.failed,
      pending: fin.pending,
      running: fin.running,
      ranThisRun: this.finishedThisRun,
      alreadyDone: this.alreadyDone,
      excluded: fin.excluded,
      stopped: this.stopped,
      durationMs: Date.now() - this.o.started,
      failures: this.failures,
      ...extra,
    };
  }
}

/**
 * Record how a run on another machine (a queue job, a Slurm array task) ended, under its lease:
 * its metric points (upserts: points a progress event brought already change nothing) and
 * artifacts, then its provenance and summary, or its error. False when the lease was lost.
 */
export function recordRemoteEnd(
  store: Store,
  lease: Lease,
  run: { points?: readonly MetricPoint[]; artifacts?: readonly ArtifactInput[] } & ({ summary: Record<string, number>; provenance: ProvenanceInput } | { error: string }),
): boolean {
  if (run.points?.length) recordMetrics(store, lease, run.points);
  for (const a of run.artifacts ?? []) recordArtifact(store, lease, a);
  if ('error' in run) return failTrial(store, lease, run.error);
  recordProvenance(store, lease, run.provenance);
  return finishTrial(store, lease, run.summary);
}
