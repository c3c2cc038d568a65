/**
 * Distributed sweeps on a real redis-server (127.0.0.1, free port, no persistence): worker
 * processes run the fake trainer, the coordinator (this process) alone writes the store.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, type JobType } from 'bullmq';
import { openStore, listTrials, runningTrials } from '@orthoquant/store';
import { runQueueSweep, enqueueSweep, parseRedisUrl, DEFAULT_QUEUE_NAME, type SweepResult, type TrialJobData } from '../index.js';
import { FAKE_TRAINER } from '../testing.js';
import { sandbox, waitFor, type Sandbox } from '../test-fixtures/helpers.js';
import { redisSkipReason, startRedis, type TestRedis } from '../test-fixtures/redis.js';
import { metricRowCount } from '@orthoquant/store/testing';
import { assertAllDoneOnce, completions, CONTRACT, type ExecutorHarness } from '../test-fixtures/contract.js';

const skip = redisSkipReason();
let redis: TestRedis | null = null;
/** Two workers on SHARED_QUEUE for the tests that kill nothing (starting one takes seconds). */
const SHARED_QUEUE = `${DEFAULT_QUEUE_NAME}-shared-${process.pid}`;
let shared: { sb: Sandbox; log: string; ws: WorkerProc[] } | null = null;
before(async () => {
  if (skip) return;
  redis = await startRedis();
  const sb = sandbox('orthoquant-queue-shared-');
  const log = join(sb.dir, 'completions.log');
  // nothing is killed on the shared queue: a long lock, so a loaded machine never fakes a stall
  shared = { sb, log, ws: [startWorkerQ(sb, 'w1', SHARED_QUEUE, log, '15000'), startWorkerQ(sb, 'w2', SHARED_QUEUE, log, '15000')] };
});
after(async () => {
  if (shared) {
    await stopWorkers(shared.ws);
    shared.sb.cleanup();
  }
  await redis?.stop();
});

interface WorkerProc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startWorker(sb: Sandbox, name: string, env: NodeJS.ProcessEnv = {}): WorkerProc {
  const script = fileURLToPath(new URL('../test-fixtures/queue-worker.ts', import.meta.url));
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
  const child = spawn(process.execPath, [...execArgv, script, redis!.url, join(sb.dir, name), '1'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

async function stopWorkers(ws: WorkerProc[]): Promise<void> {
  for (const w of ws) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await Promise.all(ws.map((w) => w.exited));
}

const sweepYaml = (name: string, ids: number, steps: number, stepMs: number, extra = '') => `
name: ${name}
parameters:
  id: { values: [${Array.from({ length: ids }, (_, i) => `${name}${i}`).join(', ')}] }
  steps: { value: ${steps} }
  stepMs: { value: ${stepMs} }${extra}
seeds: [0, 1]
`;

function queueName(t: string): string {
  return `${DEFAULT_QUEUE_NAME}-${t}-${process.pid}`;
}

test('two worker processes complete every trial exactly once; the coordinator alone writes the store', { skip: skip ?? false }, async () => {
  const { sb, log, ws } = shared!;
  const store = openStore(join(sb.dir, 'q.db'));
  try {
    const file = sb.write('q.yaml', sweepYaml('q', 3, 12, 30));
    await waitFor('both workers', () => ws.every((w) => w.output().includes('ready')), 30_000);
    const events: string[] = [];
    const r = await runQueueSweep({ queue: redis!.url, queueName: SHARED_QUEUE, store, file, runnerModule: FAKE_TRAINER, pollMs: 200, onProgress: (p) => p.event && events.push(p.event.type) });
    assert.equal(r.done, 6);
    assert.equal(r.failed, 0);
    assert.equal(r.ranThisRun, 6);
    assertAllDoneOnce(store, 'q', 6, 12);
    // each config trained to completion exactly once, by either worker
    assert.deepEqual(completions(log, 'q'), ['q0', 'q0', 'q1', 'q1', 'q2', 'q2']);
    for (const t of listTrials(store, { sweep: 'q', summaryKeys: [] })) assert.equal(t.attempts, 1);
    assert.equal(events.filter((e) => e === 'done').length, 6);
    // both workers took jobs
    for (const w of ws) assert.match(w.output(), /^done id=q/m);
  } finally {
    store.close();
  }
});

/** The shared workers run the contract's sweeps; this process coordinates them. */
function queueHarness(): ExecutorHarness {
  return {
    name: 'queue',
    completionLog: shared!.log,
    run: (store, file, opts = {}) => runQueueSweep({ queue: redis!.url, queueName: SHARED_QUEUE, store, file, runnerModule: FAKE_TRAINER, pollMs: 200, maxAttempts: 2, backoffMs: 100, ...opts }),
  };
}

for (const { what, scenario } of CONTRACT) {
  test(`queue executor contract: ${what}`, { skip: skip ?? false }, async () => {
    const { sb, ws } = shared!;
    const store = openStore(join(sb.dir, `contract-${scenario.name}.db`));
    try {
      await waitFor('both workers', () => ws.every((w) => w.output().includes('ready')), 30_000);
      await scenario(queueHarness(), sb, store);
    } finally {
      store.close();
    }
  });
}

test('--only on the queue: only the matching trials are enqueued and awaited; the others stay pending', { skip: skip ?? false }, async () => {
  const { sb, log, ws } = shared!;
  const store = openStore(join(sb.dir, 'qo.db'));
  try {
    const file = sb.write('qo.yaml', sweepYaml('qo', 2, 5, 10));
    await waitFor('both workers', () => ws.every((w) => w.output().includes('ready')), 30_000);
    const r = await runQueueSweep({ queue: redis!.url, queueName: SHARED_QUEUE, store, file, runnerModule: FAKE_TRAINER, pollMs: 200, only: 'seed = 1' });
    assert.deepEqual([r.total, r.done, r.excluded, r.ranThisRun], [2, 2, 2, 2]);
    assert.deepEqual(completions(log, 'qo'), ['qo0', 'qo1']);
    assert.deepEqual(listTrials(store, { sweep: 'qo', summaryKeys: [] }).map((t) => `${t.config.seed}:${t.status}`).sort(), ['0:pending', '0:pending', '1:done', '1:done']);
  } finally {
    store.close();
  }
});

function startWorkerQ(sb: Sandbox, name: string, qn: string, log: string, lockMs = '2000'): WorkerProc {
  return startWorker(sb, name, { FAKE_TRAINER_LOG: log, ORTHOQUANT_TEST_QUEUE: qn, ORTHOQUANT_TEST_LOCK_MS: lockMs });
}

test('a worker killed with SIGKILL mid-trial: the trial is retried elsewhere and the sweep completes', { skip: skip ?? false }, async () => {
  const sb = sandbox('orthoquant-queue-');
  const log = join(sb.dir, 'completions.log');
  const qn = queueName('kill');
  const ws = [startWorkerQ(sb, 'a', qn, log), startWorkerQ(sb, 'b', qn, log)];
  const store = openStore(sb.db);
  try {
    const file = sb.write('k.yaml', sweepYaml('k', 2, 30, 40));
    await waitFor('both workers', () => ws.every((w) => w.output().includes('ready')), 30_000);
    const run = runQueueSweep({ queue: redis!.url, queueName: qn, store, file, runnerModule: FAKE_TRAINER, pollMs: 200 });
    // kill a worker once its trial has metrics in the store (recorded from progress events)
    await waitFor('a trial under way with metrics', () => {
      const t = runningTrials(store)[0];
      return !!t && metricRowCount(store, t.trialId) > 4;
    }, 20_000);
    const killed = runningTrials(store)[0]!;
    const cfg = listTrials(store, { sweep: 'k', summaryKeys: [] }).find((x) => x.id === killed.trialId)!.config as { id: string; seed: number };
    const victim = ws.find((w) => w.output().includes(`start id=${cfg.id} seed=${cfg.seed}`)) ?? ws[0]!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    const r: SweepResult = await run;
    assert.equal(r.done, 4);
    assert.equal(r.failed, 0);
    assertAllDoneOnce(store, 'k', 4, 30);
    const t = listTrials(store, { sweep: 'k', summaryKeys: [] }).find((x) => x.id === killed.trialId)!;
    assert.ok(t.attempts >= 2, `the killed trial was claimed again (attempts ${t.attempts})`);
    assert.deepEqual(completions(log, 'k'), ['k0', 'k0', 'k1', 'k1']);
  } finally {
    store.close();
    await stopWorkers(ws);
    sb.cleanup();
  }
});

test('enqueueing a sweep again adds no job; a restarted coordinator records what finished while it was away', { skip: skip ?? false }, async () => {
  const sb = sandbox('orthoquant-queue-');
  const store = openStore(sb.db);
  const queue = new Queue(SHARED_QUEUE, { connection: parseRedisUrl(redis!.url) });
  const opts = { queue: redis!.url, queueName: SHARED_QUEUE, store, runnerModule: FAKE_TRAINER };
  const jobsOf = async (states: JobType[]) => (await queue.getJobs(states)).filter((j) => (j.data as TrialJobData).sweep === 'i');
  try {
    const file = sb.write('i.yaml', sweepYaml('i', 3, 10, 5));
    const a = await enqueueSweep({ ...opts, file });
    assert.deepEqual([a.toRun, a.added, a.existing], [6, 6, 0]);
    const b = await enqueueSweep({ ...opts, file });
    assert.deepEqual([b.toRun, b.added, b.existing], [6, 0, 6]);
    assert.equal((await jobsOf(['wait', 'active', 'delayed', 'prioritized', 'completed', 'failed'])).length, 6);
    // the shared workers run everything while no coordinator listens: nothing reaches the store
    await waitFor('all jobs completed', () => completions(shared!.log, 'i').length === 6, 30_000);
    assert.equal(listTrials(store, { sweep: 'i', summaryKeys: [] }).filter((t) => t.status !== 'pending').length, 0);
    const r = await runQueueSweep({ ...opts, file, pollMs: 200 });
    assert.deepEqual([r.done, r.ranThisRun], [6, 6]);
    assertAllDoneOnce(store, 'i', 6, 10);
    assert.equal((await jobsOf(['completed'])).length, 6);
    // and once more: nothing to do, nothing re-run
    const again = await runQueueSweep({ ...opts, file, pollMs: 200 });
    assert.deepEqual([again.done, again.ranThisRun, again.alreadyDone], [6, 0, 6]);
    assert.equal(completions(shared!.log, 'i').length, 6);
  } finally {
    await queue.close();
    store.close();
    sb.cleanup();
  }
});

test('SIGTERM returns the in-flight job to the queue (waiting, not failed); another worker finishes it', { skip: skip ?? false }, async () => {
  const sb = sandbox('orthoquant-queue-');
  const log = join(sb.dir, 'completions.log');
  const qn = queueName('term');
  const queue = new Queue(qn, { connection: parseRedisUrl(redis!.url) });
  const store = openStore(sb.db);
  const ws = [startWorkerQ(sb, 'a', qn, log), startWorkerQ(sb, 'b', qn, log)];
  try {
    const file = sb.write('s.yaml', `
name: s
parameters:
  id: { value: only }
  steps: { value: 60 }
  stepMs: { value: 50 }
`);
    await waitFor('both workers', () => ws.every((w) => w.output().includes('ready')), 30_000);
    const events: string[] = [];
    const run = runQueueSweep({ queue: redis!.url, queueName: qn, store, file, runnerModule: FAKE_TRAINER, pollMs: 200, onProgress: (p) => p.event && events.push(p.event.type) });
    run.catch(() => undefined); // awaited below; a failed assertion first must not leave it unhandled
    await waitFor('the job to start', () => ws.some((w) => /^start /m.test(w.output())), 20_000);
    const first = ws.find((w) => /^start /m.test(w.output()))!;
    const other = ws.find((w) => w !== first)!;
    await waitFor('metrics in the store', () => metricRowCount(store) > 2, 10_000);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    assert.match(first.output(), /^released /m);
    // back to wait, not failed: no attempt used, nothing in the failed set, and the other worker takes it
    const [job] = await queue.getJobs(['wait', 'waiting', 'prioritized', 'active', 'completed']);
    assert.ok(job, 'the job is still in the queue');
    assert.equal(job.attemptsMade, 0);
    assert.equal((await queue.getJobCounts('failed', 'delayed')).failed, 0);
    const r = await run;
    assert.equal(r.done, 1);
    assert.match(other.output(), /^start /m);
    assert.match(other.output(), /^done /m);
    assert.ok(events.includes('released'), `the coordinator saw the release (events: ${events.join(', ')})`);
    assertAllDoneOnce(store, 's', 1, 60);
    const t = listTrials(store, { sweep: 's', summaryKeys: [] })[0]!;
    assert.equal(t.attempts, 2);
    assert.equal(t.error, null);
    assert.deepEqual(completions(log, 'only'), ['only']);
  } finally {
    await queue.close();
    store.close();
    await stopWorkers(ws);
    sb.cleanup();
  }
});

test('a trial that keeps failing ends failed with its error after its attempts', { skip: skip ?? false }, async () => {
  const sb = sandbox('orthoquant-queue-');
  const store = openStore(sb.db);
  try {
    const file = sb.write('g.yaml', `
name: g
parameters:
  id: { value: bad }
  failAt: { value: 3 }
  steps: { value: 6 }
`);
    const r = await runQueueSweep({ queue: redis!.url, queueName: SHARED_QUEUE, store, file, runnerModule: FAKE_TRAINER, pollMs: 200, maxAttempts: 2, backoffMs: 100 });
    assert.equal(r.failed, 1);
    assert.match(r.failures[0]!.error, /diverged at step 3/);
    assert.match(r.failures[0]!.error, /after 2 attempts/);
    const t = listTrials(store, { sweep: 'g', summaryKeys: [] })[0]!;
    assert.equal(t.status, 'failed');
    assert.equal(t.attempts, 2);
  } finally {
    store.close();
    sb.cleanup();
  }
});
