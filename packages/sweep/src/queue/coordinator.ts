/**
 * The queue coordinator: expands a sweep into the store, enqueues one BullMQ job per trial to
 * run (job id = config hash, so enqueueing again changes nothing), and is the only writer of
 * the SQLite store while remote workers train.
 *
 * Leases and fencing: each run of a job has an id `bullmq:<attemptsStarted>:<random>`; the
 * coordinator claims the trial in the store under that id (the store's lease: attempt counter
 * + worker id) on the run's first progress event, and every later write for the run is
 * fenced by it. A newer run (a retry, a job recovered from a dead worker) takes the trial
 * over and releases the older lease, so late events of an abandoned run write nothing.
 *
 * Restart: nothing lives only in the coordinator. On start, and every `pollMs`, it reconciles
 * each unfinished trial with its job: completed → record the job's return value (all metric
 * points of the run: upserts, never duplicates) and finish; failed for good → fail with the
 * job's error; back in wait → release the lease; missing → enqueue.
 */
import { Queue, QueueEvents, type Job } from 'bullmq';
import { createLogger, InputError, type Logger } from '@orthoquant/runtime';
import {
  openStore,
  recordMetrics,
  recordProgress,
  recordArtifact,
  releaseTrial,
  claimTrialById,
  leaseState,
  heldLease,
  sweepMembers,
  type SweepMember,
  type Lease,
  type Store,
} from '@orthoquant/store';
import { openSession, prepareSweep, recordRemoteEnd, type OpenSessionOptions, type PreparedSweep, type SweepProgress, type SweepResult, type SweepSession } from '../session.js';
import { DEFAULT_QUEUE_NAME, parseRedisUrl, runOrder, type TrialJobData, type TrialProgress, type TrialResult } from './protocol.js';

export { prepareSweep } from '../session.js';
export type { PrepareSweepOptions, PreparedSweep } from '../session.js';

/**
 * Claim one given pending trial for a run of its job (the store's claim by id: same lease, same
 * fencing token; no local pid, the run is on another machine).
 */
export function claimTrialFor(store: Store, trialId: number, workerId: string, host: string | null = null): Lease | null {
  return claimTrialById(store, trialId, { workerId, pid: null, host });
}

export interface EnqueueResult {
  sweep: string;
  sweepId: number;
  /** Trials to run (pending or running in the store). */
  toRun: number;
  /** Jobs added now. */
  added: number;
  /** Jobs already in the queue. */
  existing: number;
  /** Failed jobs put back in the queue (trials retried). */
  retried: number;
}

export interface QueueSweepOptions extends OpenSessionOptions {
  /** redis://HOST:PORT[/db] */
  queue: string;
  queueName?: string;
  dbPath?: string;
  store?: Store;
  /** BullMQ attempts per job (a trial that fails this often ends failed; default 3). */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt (default 2 s). */
  backoffMs?: number;
  /** Abort = stop coordinating (jobs stay queued; workers keep running; a restart resumes). */
  signal?: AbortSignal;
  pollMs?: number;
}

type Ctx = { store: Store; queue: Queue<TrialJobData, TrialResult>; prep: PreparedSweep; log: Logger; opts: QueueSweepOptions };

async function enqueueAll(c: Ctx): Promise<EnqueueResult> {
  const { store, queue, prep, log, opts } = c;
  let added = 0;
  let existing = 0;
  let retried = 0;
  let toRun = 0;
  for (const t of sweepMembers(store, prep.sweepId, prep.selection)) {
    if (t.status === 'done' || t.status === 'failed') continue;
    toRun++;
    const job = await queue.getJob(t.hash);
    if (job) {
      existing++;
      if (prep.retriedIds.has(t.trialId) && (await job.getState()) === 'failed') {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        retried++;
      }
      continue;
    }
    const data: TrialJobData = { hash: t.hash, config: JSON.parse(t.config) as Record<string, unknown>, runnerModule: prep.runnerModule, sweep: prep.spec.name, label: prep.labels.get(t.hash) ?? `trial ${t.trialId}` };
    const r = await queue.add('trial', data, {
      jobId: t.hash,
      attempts: Math.max(1, opts.maxAttempts ?? 3),
      backoff: { type: 'exponential', delay: opts.backoffMs ?? 2000 },
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
    if (r.id === t.hash) added++;
  }
  log.info({ added, existing, retried, toRun }, `enqueued ${added} trial jobs (${existing} already queued)`);
  return { sweep: prep.spec.name, sweepId: prep.sweepId, toRun, added, existing, retried };
}

/** Register a sweep and enqueue its trials without waiting for them (idempotent). */
export async function enqueueSweep(opts: QueueSweepOptions): Promise<EnqueueResult> {
  const ownStore = !opts.store;
  const store = opts.store ?? openStore(opts.dbPath);
  const queue = new Queue<TrialJobData, TrialResult>(opts.queueName ?? DEFAULT_QUEUE_NAME, { connection: parseRedisUrl(opts.queue) });
  try {
    const log = opts.logger ?? createLogger({ name: 'sweep-queue', quiet: true });
    const prep = await prepareSweep(store, opts, log);
    return await enqueueAll({ store, queue, prep, log, opts });
  } finally {
    await queue.close();
    if (ownStore) store.close();
  }
}

/**
 * Run a sweep on queue workers: register, enqueue, then record results until every trial of
 * the sweep is done or failed (or `signal` aborts). Resolves like `runSweep`.
 */
export async function runQueueSweep(opts: QueueSweepOptions): Promise<SweepResult> {
  const started = Date.now();
  const connection = parseRedisUrl(opts.queue);
  const ownStore = !opts.store;
  const store = opts.store ?? openStore(opts.dbPath);
  if (store.path === ':memory:' && ownStore) throw new InputError('a queue sweep needs a database file');
  const queueName = opts.queueName ?? DEFAULT_QUEUE_NAME;
  const queue = new Queue<TrialJobData, TrialResult>(queueName, { connection });
  const events = new QueueEvents(queueName, { connection, autorun: false });
  try {
    // the remote workers' number is unknown: the running trials stand for it
    const session = await openSession(store, opts, { loggerName: 'sweep-queue', started, workers: (s) => ({ running: s.live.size, forEta: () => Math.max(1, s.live.size) }) });
    return await coordinate({ store, queue, prep: session.prep, log: session.log, opts }, events, session);
  } finally {
    await events.close().catch(() => undefined);
    await queue.close().catch(() => undefined);
    if (ownStore) store.close();
  }
}

async function coordinate(c: Ctx, events: QueueEvents, session: SweepSession): Promise<SweepResult> {
  const { store, queue, prep, log, opts } = c;
  const byHash = new Map(sweepMembers(store, prep.sweepId).map((t) => [t.hash, t.trialId]));
  const labelOf = (hash: string) => prep.labels.get(hash) ?? hash.slice(0, 12);
  const live = session.live;
  const emit = (event?: SweepProgress['event']) => session.emit(event);

  // every store write goes through this chain: one event at a time, in arrival order
  let chain: Promise<void> = Promise.resolve();
  const serial = (what: string, f: () => Promise<void> | void) => {
    chain = chain.then(f).catch((e: unknown) => log.error({ err: (e as Error).message }, `${what} failed`));
    return chain;
  };
  const row = (trialId: number) => leaseState(store, { trialId })!;

  /**
   * The lease of this run, claiming the trial for it if needed. A newer run takes the trial
   * over from an older one; an older run's events get null (nothing is written for them).
   */
  const leaseFor = (trialId: number, run: string, takeOver = false): Lease | null => {
    const r = row(trialId);
    if (r.status === 'done' || r.status === 'failed') return null;
    if (r.status === 'running') {
      if (r.workerId === run) return heldLease(r);
      const mine = runOrder(run) ?? 0;
      const theirs = r.workerId ? (runOrder(r.workerId) ?? -1) : -1;
      if (!takeOver && theirs > mine) return null;
      releaseTrial(store, heldLease(r));
    }
    const lease = claimTrialFor(store, trialId, run);
    if (lease) session.started(trialId, { label: labelOf(hashOf(trialId)), pid: 0, attempt: lease.attempt }, { run });
    return lease;
  };
  const hashOf = (trialId: number) => [...byHash].find(([, id]) => id === trialId)?.[0] ?? '';

  // per run of a job: the `seq` of the progress event expected next, while every earlier one was
  // recorded (null: one was missed — this coordinator started mid-run, or a write was fenced off)
  const nextSeq = new Map<string, number | null>();
  /**
   * A checkpoint of a run whose every progress event so far was recorded (so every metric point
   * before it is in the store) becomes the job's `resumeFrom`: a later run resumes from it.
   */
  const acknowledge = async (hash: string, p: TrialProgress, recorded: boolean) => {
    const expected = nextSeq.has(p.run) ? nextSeq.get(p.run)! : 0;
    const whole = recorded && typeof p.seq === 'number' && p.seq === expected;
    nextSeq.set(p.run, whole ? expected + 1 : null);
    const ck = whole ? (p.artifacts ?? []).filter((a) => a.kind === 'checkpoint').at(-1) : undefined;
    if (!ck) return;
    const job = (await queue.getJob(hash)) as Job<TrialJobData, TrialResult> | undefined;
    if (job) await job.updateData({ ...job.data, resumeFrom: ck.path });
  };

  const onProgress = async (hash: string, p: TrialProgress) => {
    const trialId = byHash.get(hash);
    if (trialId === undefined || !p || typeof p !== 'object' || typeof p.run !== 'string') return;
    const lease = leaseFor(trialId, p.run);
    let recorded = !!lease;
    if (lease && p.points?.length) recorded = recordMetrics(store, lease, p.points);
    for (const a of lease && recorded ? (p.artifacts ?? []) : []) recorded = recordArtifact(store, lease!, a) && recorded;
    if (p.seq !== undefined) await acknowledge(hash, p, recorded);
    if (!lease) return;
    if (p.released) {
      releaseTrial(store, lease);
      session.ended(trialId, 'released', { label: labelOf(hash) });
      return;
    }
    const t = live.get(trialId) ?? session.claimed(trialId, { label: labelOf(hash), pid: 0, attempt: lease.attempt });
    t.attempt = lease.attempt;
    const pace = p.pace && typeof p.pace === 'object' ? p.pace : null;
    // `sweep status` reads where the trial is from the store, as for local workers
    if (pace) recordProgress(store, lease, pace);
    session.progress(trialId, { step: p.step, metrics: p.metrics ?? {}, ...(pace ? { totalSteps: pace.totalSteps, stepsPerSecond: pace.stepsPerSecond } : {}) });
  };

  const onCompleted = (hash: string, r: TrialResult) => {
    const trialId = byHash.get(hash);
    if (trialId === undefined || !r || typeof r.run !== 'string') return;
    const lease = leaseFor(trialId, r.run, true);
    if (lease && recordRemoteEnd(store, lease, { ...r, summary: r.summary ?? {}, provenance: r.provenance ?? {} })) session.ended(trialId, 'done', { label: labelOf(hash) });
  };

  const onFailedForGood = (hash: string, job: Job<TrialJobData, TrialResult>) => {
    const trialId = byHash.get(hash);
    if (trialId === undefined) return;
    const error = `${job.failedReason || 'failed'} (after ${job.attemptsMade} attempts)`;
    // the last run's lease if the trial is still running under it; else claim it to record the failure
    const r = row(trialId);
    const lease = r.status === 'running' ? heldLease(r) : leaseFor(trialId, `bullmq:${job.attemptsStarted}:failed`, true);
    if (lease && recordRemoteEnd(store, lease, { error })) session.ended(trialId, 'failed', { error, label: labelOf(hash) });
  };

  /** Bring one trial in line with its job (the restart path, and the backstop for missed events). */
  const reconcile = async (t: SweepMember) => {
    const job = (await queue.getJob(t.hash)) as Job<TrialJobData, TrialResult> | undefined;
    if (!job) {
      await enqueueAll(c);
      return;
    }
    const state = await job.getState();
    if (state === 'completed') onCompleted(t.hash, job.returnvalue);
    else if (state === 'failed') onFailedForGood(t.hash, job);
    else if ((state === 'waiting' || state === 'delayed' || state === 'prioritized') && t.status === 'running') {
      // no run holds the job: the lease read before getState is stale (fenced: a newer claim is untouched)
      if (releaseTrial(store, heldLease(t))) session.ended(t.trialId, 'requeued', { label: labelOf(t.hash), why: 'its job is back in the queue' });
    } else if (state === 'active' && t.status === 'running' && job.progress && typeof job.progress === 'object') {
      // where the run is (its points come with its progress events)
      await onProgress(t.hash, { ...(job.progress as TrialProgress), points: [], artifacts: [], seq: undefined });
    }
  };
  const reconcileAll = () =>
    serial('reconcile', async () => {
      for (const t of sweepMembers(store, prep.sweepId, prep.selection)) if (t.status === 'pending' || t.status === 'running') await reconcile(t);
    });

  events.on('progress', ({ jobId, data }) => void serial('progress', () => onProgress(jobId, data as unknown as TrialProgress)));
  events.on('completed', ({ jobId }) => void serial('completed', async () => {
    const t = sweepMembers(store, prep.sweepId).find((r) => r.hash === jobId);
    if (t) await reconcile(t);
  }));
  events.on('failed', ({ jobId }) => void serial('failed', async () => {
    const t = sweepMembers(store, prep.sweepId).find((r) => r.hash === jobId);
    if (t) await reconcile(t);
  }));
  events.on('error', (e) => log.error({ err: e.message }, 'queue events error'));
  events.run().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'queue events stopped'));
  await events.waitUntilReady();

  await serial('enqueue', async () => void (await enqueueAll(c)));
  await reconcileAll();
  emit();
  const pollMs = opts.pollMs ?? 1000;
  for (;;) {
    if (opts.signal?.aborted) {
      session.stopped = 'aborted';
      log.warn('coordinator stopped: jobs stay queued; run it again to record their results');
      break;
    }
    const s = session.status();
    if (s.pending === 0 && s.running === 0) break;
    await new Promise<void>((r) => {
      const t = setTimeout(r, pollMs);
      opts.signal?.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
    });
    await reconcileAll();
    emit();
  }
  await chain;
  return session.finish();
}
