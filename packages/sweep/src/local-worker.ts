/**
 * A local worker process (forked by the local executor, see local.ts): claims pending trials of one
 * sweep from the store, runs each through the runner module, streams metrics into the store
 * in batches and writes the summary — the database directly, under a fenced lease.
 *
 * It stops (aborts the current trial, gives it back to the queue, exits) when the
 * coordinator says so, when the coordinator is gone (IPC disconnect: a kill -9 of the parent
 * leaves no orphan behind), or on SIGINT/SIGTERM. A runner that ignores the abort is given
 * `graceMs`, then the trial is released anyway and the process exits.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { backendInfo, createLogger, type Logger } from '@orthoquant/runtime';
import {
  openStore,
  claimTrial,
  heartbeat,
  recordMetrics,
  recordProgress,
  recordArtifact,
  dropArtifacts,
  recordProvenance,
  latestCheckpoint,
  checkpoints,
  finishTrial,
  failTrial,
  releaseTrial,
  isStoreFault,
  type ClaimedTrial,
  type MetricPoint,
  type TrialProgress,
  type ProvenanceInput,
  type Store,
} from '@orthoquant/store';
import { loadRunner, type TrialEvent, type TrialRunnerModule } from './runner.js';
import { paceReporter, trialEventHandler } from './trial-events.js';

export interface WorkerArgs {
  dbPath: string;
  sweepId: number;
  sweepName: string;
  runnerModule: string;
  logFile: string;
  checkpointRoot: string;
  heartbeatMs: number;
  graceMs: number;
  trialTimeoutMs: number | null;
  provenance: ProvenanceInput;
  /** `--only`: the trials this worker may claim (null: any trial of the sweep). */
  trialIds?: number[] | null;
  /** Keep every checkpoint of a finished trial (default: only its last one). */
  keepCheckpoints?: boolean;
}

/** Worker → coordinator. */
export type WorkerMessage =
  | { type: 'ready'; workerId: string }
  | { type: 'claimed'; trialId: number; hash: string; attempt: number }
  | { type: 'progress'; trialId: number; step: number; metrics: Record<string, number>; totalSteps: number | null; stepsPerSecond: number | null }
  | { type: 'finished'; trialId: number; outcome: 'done' | 'failed' | 'released' | 'lost'; error?: string }
  /** `storeFault`: the store cannot be written (full disk, read-only, corrupt); the trial was given back. */
  | { type: 'fatal'; error: string; storeFault?: boolean };

/** Coordinator → worker. */
export type CoordinatorMessage = { type: 'stop'; reason: string };

class Stop extends Error {
  constructor(reason: string) {
    super(`stopped: ${reason}`);
    this.name = 'Stop';
  }
}

function send(m: WorkerMessage): void {
  if (process.connected && process.send) {
    try {
      process.send(m);
    } catch {
      // the coordinator is gone; the 'disconnect' handler stops us
    }
  }
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.stack && !e.stack.startsWith(`${e.name}: ${e.message}`) ? `${e.name}: ${e.message}\n${e.stack}` : (e.stack ?? `${e.name}: ${e.message}`);
  return String(e);
}

function bytesOf(path: string): number | null {
  try {
    const st = statSync(path);
    if (!st.isDirectory()) return st.size;
    return readdirSync(path).reduce((n, f) => n + (bytesOf(join(path, f)) ?? 0), 0);
  } catch {
    return null;
  }
}

class Worker {
  readonly workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private stopping: string | null = null;
  private current: { lease: ClaimedTrial; ac: AbortController } | null = null;

  constructor(
    readonly a: WorkerArgs,
    readonly store: Store,
    readonly runner: TrialRunnerModule,
    readonly log: Logger,
  ) {}

  stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = reason;
    this.log.info({ reason }, 'worker stopping');
    this.current?.ac.abort(new Stop(reason));
    // a runner that ignores the abort: give the trial back and leave anyway
    setTimeout(() => {
      if (this.current) {
        try {
          releaseTrial(this.store, this.current.lease);
        } catch {
          // the coordinator re-queues a trial whose worker is gone
        }
        this.log.warn({ trialId: this.current.lease.trialId }, `runner ignored the abort for ${this.a.graceMs} ms; trial released`);
      }
      this.exit(0);
    }, this.a.graceMs).unref();
  }

  exit(code: number): never {
    try {
      this.store.close();
    } catch {
      // closing is best effort on the way out
    }
    process.exit(code);
  }

  async loop(): Promise<void> {
    while (!this.stopping) {
      const claim = claimTrial(this.store, { sweepId: this.a.sweepId, ...(this.a.trialIds ? { trialIds: new Set(this.a.trialIds) } : {}), workerId: this.workerId, pid: process.pid, host: hostname() });
      if (!claim) break;
      await this.runOne(claim);
    }
  }

  /** Delete every checkpoint of the trial but its newest usable one, and forget them in the store. */
  private pruneCheckpoints(lease: ClaimedTrial, log: Logger): void {
    const rows = checkpoints(this.store, lease.trialId);
    const usable = (p: string) => existsSync(p) && (!this.runner.checkpointUsable || this.runner.checkpointUsable(p));
    const keep = rows.find((r) => usable(r.path));
    if (!keep) return;
    const drop = rows.filter((r) => r.path !== keep.path).map((r) => r.path);
    let bytes = 0;
    for (const p of drop) {
      bytes += bytesOf(p) ?? 0;
      rmSync(p, { force: true });
    }
    if (drop.length && dropArtifacts(this.store, lease, drop)) log.info({ kept: keep.path, pruned: drop.length, bytes }, `pruned ${drop.length} checkpoint(s) (${bytes} bytes); kept ${keep.path}`);
  }

  private async runOne(lease: ClaimedTrial): Promise<void> {
    const a = this.a;
    const ac = new AbortController();
    this.current = { lease, ac };
    const log = this.log.child({ trialId: lease.trialId, hash: lease.hash.slice(0, 12), attempt: lease.attempt });
    send({ type: 'claimed', trialId: lease.trialId, hash: lease.hash, attempt: lease.attempt });
    log.info('trial claimed');
    recordProvenance(this.store, lease, a.provenance);
    recordArtifact(this.store, lease, { kind: 'log', path: a.logFile });

    const buffer: MetricPoint[] = [];
    let lost = false;
    let lastFlush = Date.now();
    let lastProgress = 0;
    const markLost = () => {
      if (lost) return;
      lost = true;
      log.warn('lease lost (the trial was re-queued and claimed elsewhere); abandoning this attempt');
      ac.abort(new Stop('lease lost'));
    };
    // the trainer's latest progress report, written to the store with the next flush
    let progress: TrialProgress | null = null;
    let progressDirty = false;
    // the store cannot be written (full disk…): the trial is aborted and given back, the worker stops
    let fault: Error | null = null;
    const guarded = (write: () => void) => {
      if (fault) return;
      try {
        write();
      } catch (e) {
        if (!isStoreFault(e)) throw e;
        fault = e;
        log.error({ err: e.message }, 'the store cannot be written; stopping');
        ac.abort(e);
      }
    };
    const flush = () =>
      guarded(() => {
        if (lost) return;
        lastFlush = Date.now();
        let ok = buffer.length ? recordMetrics(this.store, lease, buffer.splice(0)) : heartbeat(this.store, lease);
        if (ok && progressDirty && progress) {
          progressDirty = false;
          ok = recordProgress(this.store, lease, progress);
        }
        if (!ok) markLost();
      });
    const beat = setInterval(flush, a.heartbeatMs);
    const timeout = a.trialTimeoutMs ? setTimeout(() => ac.abort(new Error(`trial timed out after ${a.trialTimeoutMs} ms`)), a.trialTimeoutMs) : null;

    const events = trialEventHandler(
      {
        points: (points) => buffer.push(...points),
        step: (step, metrics) => {
          if (Date.now() - lastProgress > 250) {
            lastProgress = Date.now();
            send({ type: 'progress', trialId: lease.trialId, step, metrics, totalSteps: progress?.totalSteps ?? null, stepsPerSecond: progress?.stepsPerSecond ?? null });
          }
        },
        artifact: (art) => {
          // metrics up to a checkpoint are durable before the checkpoint is: a trial resumed
          // from it never misses the steps before it
          flush();
          guarded(() => {
            if (!lost && !recordArtifact(this.store, lease, { ...art, bytes: bytesOf(art.path) })) markLost();
          });
        },
      },
      log,
    );
    const onEvent = (e: TrialEvent) => {
      events.onEvent(e);
      if (buffer.length >= 500 || Date.now() - lastFlush > 1000) flush();
    };

    let outcome: 'done' | 'failed' | 'released' | 'lost';
    let error: string | undefined;
    try {
      const where = `trial ${lease.trialId}`;
      const config = this.runner.parseTrialConfig ? this.runner.parseTrialConfig(lease.config, where) : lease.config;
      // a re-claimed trial continues from the last checkpoint an earlier attempt reported;
      // replayed steps overwrite their metric rows (never duplicate them)
      const usable = (p: string) => {
        if (!existsSync(p)) return false;
        if (!this.runner.checkpointUsable || this.runner.checkpointUsable(p)) return true;
        log.warn({ checkpoint: p }, `checkpoint ${p} is torn or corrupt; trying the previous one`);
        return false;
      };
      const resume = lease.attempt > 1 ? latestCheckpoint(this.store, lease.trialId, usable) : null;
      if (resume) log.info({ resumeFrom: resume.path, step: resume.step }, 'resuming from checkpoint');
      const summary = await this.runner.runTrial(config as never, {
        onEvent,
        keepAlive: () => {
          if (Date.now() - lastFlush >= a.heartbeatMs) flush();
        },
        signal: ac.signal,
        checkpointDir: join(a.checkpointRoot, lease.hash.slice(0, 16)),
        progress: paceReporter((p) => {
          progress = p;
          progressDirty = true;
        }),
        ...(resume ? { resumeFrom: resume.path } : {}),
        where,
        logger: log,
      });
      clearInterval(beat);
      flush();
      if (fault) throw fault;
      if (lost) outcome = 'lost';
      else {
        const rt = this.runner.describeRuntime?.() ?? {};
        const bi = backendInfo();
        recordProvenance(this.store, lease, { ...a.provenance, backend: rt.backend ?? bi?.choice ?? null, kernel: rt.kernel ?? null });
        if (summary !== undefined && (summary === null || typeof summary !== 'object')) throw new Error(`runTrial resolved with ${JSON.stringify(summary)}, expected a summary object of numbers`);
        // a finished trial needs its last checkpoint only (quantize, eval); pruned before the
        // finish, so a crash in between re-runs the trial from that last one
        if (!a.keepCheckpoints) this.pruneCheckpoints(lease, log);
        outcome = finishTrial(this.store, lease, summary ?? {}) ? 'done' : 'lost';
      }
    } catch (e) {
      clearInterval(beat);
      const reason = ac.signal.aborted ? (ac.signal.reason as unknown) : null;
      flush(); // the metrics so far, before the trial is given back or failed
      const storeFault = fault ?? (isStoreFault(e) ? e : null);
      if (storeFault) {
        // not the trial's fault: give it back (if the store still takes that) and stop the worker
        try {
          releaseTrial(this.store, lease);
        } catch {
          // the coordinator re-queues a trial whose worker is gone
        }
        send({ type: 'finished', trialId: lease.trialId, outcome: 'released' });
        throw storeFault;
      }
      if (lost) outcome = 'lost';
      else if (reason instanceof Stop) outcome = releaseTrial(this.store, lease) ? 'released' : 'lost';
      else {
        error = reason instanceof Error ? reason.message : errorText(e);
        outcome = failTrial(this.store, lease, error) ? 'failed' : 'lost';
      }
    } finally {
      clearInterval(beat);
      if (timeout) clearTimeout(timeout);
      this.current = null;
    }
    if (outcome === 'failed') log.error({ err: error }, 'trial failed');
    else log.info({ outcome }, `trial ${outcome}`);
    send({ type: 'finished', trialId: lease.trialId, outcome, ...(error !== undefined ? { error } : {}) });
  }
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs;
  const log = createLogger({ name: 'sweep-worker', file: a.logFile, quiet: true }).child({ sweep: a.sweepName, pid: process.pid });
  const runner = await loadRunner(a.runnerModule);
  const store = openStore(a.dbPath);
  const w = new Worker(a, store, runner, log);
  process.on('disconnect', () => w.stop('coordinator gone'));
  process.on('message', (m: CoordinatorMessage) => {
    if (m?.type === 'stop') w.stop(m.reason);
  });
  process.on('SIGINT', () => w.stop('SIGINT'));
  process.on('SIGTERM', () => w.stop('SIGTERM'));
  send({ type: 'ready', workerId: w.workerId });
  log.info({ workerId: w.workerId }, 'worker ready');
  await w.loop();
  w.exit(0);
}

main().catch((e: unknown) => {
  send({ type: 'fatal', error: e instanceof Error ? e.message : String(e), ...(isStoreFault(e) ? { storeFault: true } : {}) });
  process.stderr.write(`sweep worker: ${isStoreFault(e) ? e.message : errorText(e)}\n`);
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
});
