/**
 * A queue worker: takes trial jobs from BullMQ and runs each in a forked child process
 * (trial-child.ts), relaying its metrics as job progress. It never opens the database: the
 * coordinator records everything it sends.
 *
 * - A child that throws or dies fails the attempt; BullMQ retries it with backoff, and the
 *   job (hence the trial) ends failed with its error once its attempts are used up.
 * - A worker that dies (kill -9, machine lost) stops renewing its job locks; another worker's
 *   stalled-job check puts the job back to wait after `lockDurationMs`.
 * - `stop()` (SIGTERM/SIGINT in the CLI): no new jobs; each running child is asked to stop
 *   (then killed after `graceMs`), and its job goes back to *wait*, not failed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker as BullWorker, WaitingError, type Job } from 'bullmq';
import { childEnv, createLogger, type Logger } from '@orthoquant/runtime';
import type { MetricPoint } from '@orthoquant/store';
import { DEFAULT_QUEUE_NAME, parseRedisUrl, type TrialJobData, type TrialProgress, type TrialResult, type WireArtifact } from './protocol.js';
import type { ChildIn, ChildOut } from './trial-child.js';
import { trialEventHandler } from '../trial-events.js';

const here = fileURLToPath(import.meta.url);
const CHILD_FILE = join(dirname(here), here.endsWith('.ts') ? 'trial-child.ts' : 'trial-child.js');

export interface QueueWorkerOptions {
  /** redis://HOST:PORT[/db] */
  queue: string;
  queueName?: string;
  /** Jobs (child processes) at once (default 1). */
  concurrency?: number;
  /** Checkpoints go under <dataDir>/runs/<hash>; default ./orthoquant-worker. */
  dataDir?: string;
  /** Use this runner module instead of the one named by each job. */
  runnerModule?: string;
  /** BullMQ lock duration: how long a dead worker's job waits before being re-queued (default 30 s). */
  lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (default lockDurationMs / 2). */
  stalledIntervalMs?: number;
  /** Times a job may be recovered from a dead worker before it fails (default 2). */
  maxStalledCount?: number;
  /** Minimum time between progress events of one job (default 500 ms). */
  progressMs?: number;
  /** How long a stopping child may take before it is killed (default 5 s). */
  graceMs?: number;
  logger?: Logger;
  /** Called when a job starts and ends (for the CLI's output). */
  onJob?: (e: { type: 'start' | 'done' | 'failed' | 'released'; hash: string; label: string; error?: string }) => void;
}

export interface QueueWorker {
  /** Resolves once the worker is closed (after `stop`). */
  closed: Promise<void>;
  /** Stop taking jobs; running ones go back to the queue. */
  stop(reason: string): Promise<void>;
}

function packageVersion(): string | null {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

function childExecArgv(): string[] {
  return process.execArgv.filter((a) => !a.startsWith('--test') && !a.startsWith('--inspect') && !a.startsWith('--watch'));
}

/** Start a queue worker. */
export async function startQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorker> {
  const connection = parseRedisUrl(opts.queue);
  const dataDir = resolve(opts.dataDir ?? 'orthoquant-worker');
  const log = (opts.logger ?? createLogger({ name: 'queue-worker' })).child({ pid: process.pid });
  const graceMs = opts.graceMs ?? 5000;
  const progressMs = opts.progressMs ?? 500;
  const lockDuration = opts.lockDurationMs ?? 30_000;
  const children = new Set<ChildProcess>();
  let stopping: string | null = null;
  const version = packageVersion();

  const processor = async (job: Job<TrialJobData, TrialResult>, token?: string): Promise<TrialResult> => {
    const d = job.data;
    const run = `bullmq:${job.attemptsStarted}:${randomUUID().slice(0, 8)}`;
    const jlog = log.child({ job: d.hash.slice(0, 12), run });
    if (stopping) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    opts.onJob?.({ type: 'start', hash: d.hash, label: d.label });
    const checkpointDir = join(dataDir, 'runs', d.hash.slice(0, 16));
    // the checkpoint the coordinator recorded with all the points before it (see TrialJobData)
    const resumeFrom = typeof d.resumeFrom === 'string' && existsSync(d.resumeFrom) ? d.resumeFrom : null;
    if (resumeFrom) jlog.info({ resumeFrom }, 'resuming from checkpoint');

    const all: MetricPoint[] = [];
    const allArtifacts: WireArtifact[] = [];
    let batch: MetricPoint[] = [];
    let batchArtifacts: WireArtifact[] = [];
    let lastMetrics: Record<string, number> = {};
    // the trainer's step budget and pace (its progress reports), sent with the next flush
    let pace: { step: number; totalSteps: number; stepsPerSecond: number | null } | null = null;
    let seq = 0;
    let sending: Promise<void> = Promise.resolve();
    const flush = (extra: Partial<TrialProgress> = {}): Promise<void> => {
      const p: TrialProgress = { run, seq: seq++, points: batch, artifacts: batchArtifacts, step: events.lastStep, metrics: lastMetrics, pace, ...extra };
      batch = [];
      batchArtifacts = [];
      sending = sending.then(() => job.updateProgress(p as unknown as object)).catch((e: unknown) => jlog.warn({ err: (e as Error).message }, 'progress update failed'));
      return sending;
    };
    const timer = setInterval(() => {
      if (batch.length || batchArtifacts.length) void flush();
    }, progressMs);

    const events = trialEventHandler(
      {
        points: (points) => {
          batch.push(...points);
          all.push(...points);
        },
        step: (_, metrics) => {
          lastMetrics = metrics;
        },
        artifact: (a) => {
          batchArtifacts.push(a);
          allArtifacts.push(a);
          void flush(); // metrics up to a checkpoint travel before it
        },
      },
      jlog,
    );
    const child = takeChild();
    children.add(child);
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    child.stdout?.on('data', (b: Buffer) => jlog.debug(b.toString().trimEnd()));
    let final: ChildOut | null = null;
    child.on('message', (m: ChildOut) => {
      if (m.type === 'progress') {
        pace = { step: m.step, totalSteps: m.totalSteps, stepsPerSecond: m.stepsPerSecond };
        return;
      }
      if (m.type !== 'event') {
        final = m;
        return;
      }
      events.onEvent(m.event);
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    const msg: ChildIn = { type: 'run', config: d.config, runnerModule: opts.runnerModule ?? d.runnerModule, checkpointDir, resumeFrom, where: `trial ${d.label}`, logFile: null };
    child.send(msg);
    if (stopping) child.send({ type: 'stop', reason: stopping } satisfies ChildIn);
    const onStop = (reason: string) => {
      if (child.connected) child.send({ type: 'stop', reason } satisfies ChildIn);
      setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
    };
    stopHooks.add(onStop);
    let ex: { code: number | null; signal: NodeJS.Signals | null };
    try {
      ex = await exited;
    } finally {
      clearInterval(timer);
      stopHooks.delete(onStop);
      children.delete(child);
    }
    const out = final as ChildOut | null;
    if (stopping && out?.type !== 'done') {
      // give the job back: not a failure, not an attempt used
      await flush({ released: true });
      jlog.info({ reason: stopping }, 'job returned to the queue');
      opts.onJob?.({ type: 'released', hash: d.hash, label: d.label });
      await job.moveToWait(token);
      throw new WaitingError();
    }
    await flush();
    if (out?.type === 'done') {
      opts.onJob?.({ type: 'done', hash: d.hash, label: d.label });
      return {
        run,
        summary: out.summary,
        points: all,
        artifacts: allArtifacts,
        provenance: { packageVersion: version, backend: out.backend, kernel: out.kernel, nodeVersion: process.version, host: hostname(), gitCommit: null, gitDirty: null },
      };
    }
    const error =
      out?.type === 'error'
        ? out.error
        : `trial process ${ex.signal ? `killed by ${ex.signal}` : `exited with code ${ex.code}`}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-5).join(' | ')}` : ''}`;
    jlog.warn({ err: error, attempt: job.attemptsMade + 1 }, 'trial attempt failed');
    opts.onJob?.({ type: 'failed', hash: d.hash, label: d.label, error });
    throw new Error(error);
  };
  const stopHooks = new Set<(reason: string) => void>();
  // Each job gets a fresh process, forked ahead of time (loading the runtime takes a second or
  // two): one spare per concurrency slot waits for its `run` message.
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 1));
  const spares: ChildProcess[] = [];
  const forkChild = () => fork(CHILD_FILE, [], { execArgv: childExecArgv(), stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: childEnv() });
  const takeChild = (): ChildProcess => {
    let c = spares.shift();
    while (c && (c.exitCode !== null || c.signalCode !== null || !c.connected)) c = spares.shift();
    const child = c ?? forkChild();
    if (!stopping && spares.length < concurrency) spares.push(forkChild());
    return child;
  };
  const dropSpares = () => {
    for (const c of spares.splice(0)) if (c.connected) c.disconnect();
  };

  const worker = new BullWorker<TrialJobData, TrialResult>(opts.queueName ?? DEFAULT_QUEUE_NAME, processor, {
    connection,
    concurrency,
    lockDuration,
    stalledInterval: opts.stalledIntervalMs ?? Math.max(500, Math.floor(lockDuration / 2)),
    maxStalledCount: opts.maxStalledCount ?? 2,
    autorun: false,
  });
  worker.on('error', (e) => log.error({ err: e.message }, 'queue worker error'));
  await worker.waitUntilReady();
  for (let i = 0; i < concurrency; i++) spares.push(forkChild());
  const running = worker.run();
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  void running.then(
    () => resolveClosed(),
    (e: unknown) => {
      log.error({ err: (e as Error).message }, 'queue worker stopped with an error');
      resolveClosed();
    },
  );
  log.info({ queue: `${connection.host}:${connection.port}`, concurrency: worker.opts.concurrency, dataDir }, 'queue worker ready');
  return {
    closed,
    async stop(reason: string) {
      if (stopping) return closed;
      stopping = reason;
      log.info({ reason, running: children.size }, 'queue worker stopping: running jobs go back to the queue');
      dropSpares();
      for (const h of stopHooks) h(reason);
      await worker.close();
      dropSpares();
      await closed;
    },
  };
}
