/**
 * The local executor: runs a session's pending trials in N forked worker processes
 * (local-worker.ts) on this machine until none is left.
 *
 * - Each worker claims trials from the store itself and writes their metrics and results
 *   under a fenced lease; this process only watches: worker messages become the session's
 *   claimed / progress / finished reports.
 * - A worker that exits holding a trial: the trial is re-queued, and failed once it has been
 *   claimed `maxAttempts` times. One whose heartbeat stops (a blocked event loop) is killed
 *   and treated the same way. Someone else's abandoned trial is re-queued.
 * - The store cannot be written (full disk, read-only, corrupt): every worker stops, running
 *   trials are given back (not failed), and the run ends with that error.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnv, InputError } from '@orthoquant/runtime';
import { abandonTrial, findStale, isStoreFault, releaseTrial, requeueStale, runningTrials, type ProvenanceInput } from '@orthoquant/store';
import type { SweepSession } from './session.js';
import type { CoordinatorMessage, WorkerArgs, WorkerMessage } from './local-worker.js';

const here = fileURLToPath(import.meta.url);
const WORKER_FILE = join(dirname(here), here.endsWith('.ts') ? 'local-worker.ts' : 'local-worker.js');

export interface LocalExecutorOptions {
  /** Worker processes (default: number of cores). */
  workers?: number;
  /** Stop at the first failed trial (running trials are released, not failed). */
  failFast?: boolean;
  /** Abort = stop: running trials go back to the queue, the promise resolves. */
  signal?: AbortSignal;
  /** Per-trial checkpoint folders go under this. */
  checkpointRoot: string;
  provenance: ProvenanceInput;
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

/**
 * The workers' environment: the cores are shared among them, so each worker's kernels get
 * ⌊cores / workers⌋ threads (at least 1) unless ORTHOQUANT_THREADS says otherwise.
 */
export function workerEnv(workers: number, env: NodeJS.ProcessEnv = childEnv(), cores = availableParallelism()): NodeJS.ProcessEnv {
  if (env.ORTHOQUANT_THREADS) return env;
  return { ...env, ORTHOQUANT_THREADS: String(Math.max(1, Math.floor(cores / Math.max(1, workers)))) };
}

/** Node flags for the workers: the parent's (tsx, conditions), minus test-runner and inspector ones. */
function workerExecArgv(): string[] {
  return process.execArgv.filter((a) => !a.startsWith('--test') && !a.startsWith('--inspect') && !a.startsWith('--watch'));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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

export class LocalExecutor {
  readonly nWorkers: number;
  private readonly workers = new Map<number, Spawned>();
  private idleSpawns = 0;
  private fatal: string | null = null;
  // the store cannot be written (full disk, read-only, corrupt): the sweep stops with this error,
  // its running trials given back (not failed), and the same command continues once it is fixed
  private storeFault: Error | null = null;
  private s!: SweepSession;

  constructor(private readonly o: LocalExecutorOptions) {
    this.nWorkers = Math.max(1, Math.floor(o.workers ?? availableParallelism()));
  }

  /** For the session's progress events: live workers, and the parallelism the ETA assumes. */
  workerCount(): { running: number; forEta: (remaining: number) => number } {
    return { running: [...this.workers.values()].filter((w) => !w.exited).length, forEta: (remaining) => Math.max(1, Math.min(this.nWorkers, remaining)) };
  }

  async run(s: SweepSession): Promise<void> {
    this.s = s;
    const { store, prep } = s;
    if (store.path === ':memory:') throw new InputError('runSweep: workers need a database file, not :memory:');
    const o = this.o;
    const args: WorkerArgs = {
      dbPath: store.path,
      sweepId: prep.sweepId,
      sweepName: s.name,
      runnerModule: prep.runnerModule,
      logFile: s.logFile,
      checkpointRoot: o.checkpointRoot,
      heartbeatMs: o.heartbeatMs ?? 5000,
      graceMs: o.graceMs ?? 5000,
      trialTimeoutMs: o.trialTimeoutMs ?? null,
      provenance: o.provenance,
      keepCheckpoints: o.keepCheckpoints ?? false,
      trialIds: prep.selection ? [...prep.selection] : null,
    };
    const staleAfterMs = o.staleAfterMs ?? 60_000;
    const onAbort = () => {
      if (!s.stopped) {
        s.stopped = 'aborted';
        s.log.warn('sweep stopped: running trials go back to the queue');
        this.stopAll('sweep aborted');
      }
    };
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });

    const pollMs = o.pollMs ?? 250;
    let lastEmit = 0;
    try {
      for (;;) {
        const alive = [...this.workers.values()].filter((w) => !w.exited);
        // in-run stale detection: our own worker with a silent heartbeat is killed (onExit then
        // abandons its trial); anyone else's abandoned trial is simply re-queued
        for (const st of findStale(store, { sweepId: prep.sweepId, staleAfterMs })) {
          const mine = alive.find((w) => w.pid === st.pid && st.host === hostname());
          if (mine) {
            s.log.warn({ trialId: st.trialId, pid: mine.pid, reason: st.reason }, 'worker unresponsive; killing it');
            mine.killedFor = `unresponsive (${st.reason})`;
            mine.child.kill('SIGKILL');
          } else if (requeueStale(store, { sweepId: prep.sweepId, staleAfterMs }).length) {
            s.emit({ type: 'requeued', trialId: st.trialId, detail: st.reason });
          }
        }
        if (this.storeFault) throw this.storeFault;
        const st = s.status();
        if (this.fatal && this.idleSpawns >= this.nWorkers) throw new Error(`sweep '${s.name}': workers cannot start: ${this.fatal}`);
        if (this.idleSpawns >= this.nWorkers * 3) throw new Error(`sweep '${s.name}': ${this.idleSpawns} workers in a row exited without finishing a trial${this.fatal ? `: ${this.fatal}` : ''}`);
        if (!s.stopped && st.pending > 0) {
          const want = Math.min(this.nWorkers, st.pending + st.running) - alive.length;
          for (let i = 0; i < want; i++) this.spawn(args);
        }
        const aliveNow = [...this.workers.values()].filter((w) => !w.exited).length;
        if (aliveNow === 0 && (s.stopped || (st.pending === 0 && st.running === 0))) break;
        if (Date.now() - lastEmit >= 1000) {
          lastEmit = Date.now();
          s.emit(undefined, st);
        }
        await sleep(pollMs);
      }
    } catch (e) {
      this.stopAll('coordinator error');
      await this.waitForExit((o.graceMs ?? 5000) + 2000);
      if (isStoreFault(e)) this.onStoreFault(e);
      throw this.storeFault ?? e;
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
    }
  }

  private stopAll(reason: string): void {
    for (const w of this.workers.values()) {
      if (w.exited || !w.child.connected) continue;
      try {
        w.child.send({ type: 'stop', reason } satisfies CoordinatorMessage);
      } catch {
        // already gone
      }
    }
  }

  private failFast(): void {
    if (this.o.failFast && !this.s.stopped) {
      this.s.stopped = 'fail-fast';
      this.s.log.warn('fail-fast: stopping the sweep');
      this.stopAll('fail-fast');
    }
  }

  private onMessage(w: Spawned, m: WorkerMessage): void {
    const s = this.s;
    switch (m.type) {
      case 'ready':
        w.ready = true;
        break;
      case 'claimed':
        w.current = m.trialId;
        s.started(m.trialId, { label: s.labelOf(m.trialId, m.hash), pid: w.pid, attempt: m.attempt }, { pid: w.pid });
        break;
      case 'progress':
        s.progress(m.trialId, { step: m.step, metrics: m.metrics, totalSteps: m.totalSteps ?? null, stepsPerSecond: m.stepsPerSecond ?? null });
        break;
      case 'finished':
        w.current = null;
        w.finishedAny = true;
        // 'lost': the trial was re-queued and claimed by another worker meanwhile
        s.ended(m.trialId, m.outcome === 'lost' ? 'requeued' : m.outcome, { ...(m.error !== undefined ? { error: m.error } : {}), ...(m.outcome === 'lost' ? { why: 'its lease was lost' } : {}) });
        if (m.outcome === 'failed') this.failFast();
        break;
      case 'fatal':
        w.fatal = m.error;
        if (m.storeFault) this.onStoreFault(new InputError(m.error));
        break;
    }
  }

  private onStoreFault(e: Error): void {
    if (this.storeFault) return;
    this.storeFault = e;
    this.s.log.error({ err: e.message }, 'the store cannot be written; stopping the sweep');
    this.stopAll('the store cannot be written');
  }

  private onExit(w: Spawned, code: number | null, signal: NodeJS.Signals | null): void {
    w.exited = true;
    if (w.fatal) this.fatal = w.fatal;
    try {
      this.releaseHeld(w, code, signal);
    } catch (e) {
      if (!isStoreFault(e)) throw e;
      this.onStoreFault(e);
    }
    if (!w.finishedAny) this.idleSpawns++;
    else this.idleSpawns = 0;
    if (code !== 0 || signal) this.s.log.warn({ pid: w.pid, code, signal }, 'worker exited abnormally');
  }

  /** Whatever an exited worker still held: re-queued, or failed after maxAttempts (given back when the store was at fault). */
  private releaseHeld(w: Spawned, code: number | null, signal: NodeJS.Signals | null): void {
    const s = this.s;
    const maxAttempts = this.o.maxAttempts ?? 2;
    for (const t of runningTrials(s.store, { sweepId: s.prep.sweepId, pid: w.pid, host: hostname() })) {
      if (this.storeFault) {
        if (releaseTrial(s.store, t)) s.live.delete(t.trialId);
        continue;
      }
      const how = w.killedFor ? `was killed: ${w.killedFor}` : `exited (${signal ?? `code ${code}`})`;
      const why = `worker ${w.pid} ${how}${w.stderr.trim() ? `: ${w.stderr.trim().split('\n').slice(-5).join(' | ')}` : ''}`;
      if (abandonTrial(s.store, t, why, maxAttempts) === 'failed') {
        s.ended(t.trialId, 'failed', { error: `${why} (attempt ${t.attempt} of ${maxAttempts})`, detail: why });
        this.failFast();
      } else s.ended(t.trialId, 'requeued', { why });
    }
  }

  private spawn(args: WorkerArgs): void {
    const log = this.s.log;
    const child = fork(WORKER_FILE, [JSON.stringify(args)], { execArgv: workerExecArgv(), stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: workerEnv(this.nWorkers) });
    const w: Spawned = { child, pid: child.pid ?? -1, ready: false, finishedAny: false, current: null, stderr: '', fatal: null, exited: false, killedFor: null };
    this.workers.set(w.pid, w);
    child.on('message', (m: WorkerMessage) => this.onMessage(w, m));
    child.stdout?.on('data', (d: Buffer) => log.debug({ pid: w.pid }, d.toString().trimEnd()));
    child.stderr?.on('data', (d: Buffer) => {
      w.stderr = (w.stderr + d.toString()).slice(-4000);
    });
    child.on('exit', (code, signal) => this.onExit(w, code, signal));
    child.on('error', (e) => log.error({ pid: w.pid, err: e.message }, 'worker process error'));
    log.debug({ pid: w.pid }, 'worker started');
  }

  private async waitForExit(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && [...this.workers.values()].some((w) => !w.exited)) await sleep(50);
    for (const w of this.workers.values()) if (!w.exited) w.child.kill('SIGKILL');
  }
}
