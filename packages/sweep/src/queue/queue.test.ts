/**
 * Distributed sweeps on a real redis-server (127.0.0.1, free port, no persistence): worker
 * processes run the fake trainer, the coordinator (this process) alone writes the store.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Queue, type JobType } from 'bullmq';
import { openStore, listTrials, runningTrials, getTrial, type Store } from '@orthoquant/store';
import { runQueueSweep, enqueueSweep, parseRedisUrl, DEFAULT_QUEUE_NAME, type TrialJobData } from '../index.js';
import { FAKE_TRAINER } from '../testing.js';
import { groupGone, sandbox, signalGroup, startCoordinator, startFixture, waitFor, type FixtureProcess, type Sandbox } from '../test-fixtures/helpers.js';
import { redisSkipReason, startRedis, type TestRedis } from '../test-fixtures/redis.js';
import { assertAllDoneOnce, completions, CONTRACT, type ExecutorHarness, type RunningSweep } from '../test-fixtures/contract.js';

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

type WorkerProc = FixtureProcess;

/** A queue worker process (test-fixtures/queue-worker.ts) in its own process group, with its trial processes. */
function startWorker(sb: Sandbox, name: string, env: NodeJS.ProcessEnv = {}): WorkerProc {
  return startFixture('queue-worker.ts', [redis!.url, join(sb.dir, name), '1'], env);
}

async function stopWorkers(ws: WorkerProc[]): Promise<void> {
  for (const w of ws) signalGroup(w.child.pid!, 'SIGKILL');
  await Promise.all(ws.map((w) => w.exited));
  await waitFor('the workers and their trial processes to exit', () => ws.every((w) => groupGone(w.child.pid!)), 15_000);
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

/**
 * The shared workers run the contract's sweeps; this process coordinates them. A sweep to kill
 * or stop runs on a queue of its own: two workers of its own and a coordinator process; the run
 * after it starts two new workers on that queue and coordinates them from here.
 */
function queueHarness(): ExecutorHarness {
  const { sb, log } = shared!;
  let own: string | null = null;
  const opts = { queue: redis!.url, runnerModule: FAKE_TRAINER, pollMs: 200, maxAttempts: 2, backoffMs: 100 };
  return {
    name: 'queue',
    completionLog: log,
    async run(store, file, o = {}) {
      if (!own) return runQueueSweep({ ...opts, queueName: SHARED_QUEUE, store, file, ...o });
      const ws = [startWorkerQ(sb, 'r1', own, log), startWorkerQ(sb, 'r2', own, log)];
      try {
        return await runQueueSweep({ ...opts, queueName: own, store, file, ...o });
      } finally {
        await stopWorkers(ws);
      }
    },
    async start(store, file) {
      const qn = (own = queueName(`own${Date.now()}`));
      const ws = [startWorkerQ(sb, 'a', qn, log), startWorkerQ(sb, 'b', qn, log)];
      await waitFor('both workers', () => ws.every((w) => w.output().includes('ready')), 30_000);
      const c = startCoordinator(store.path, file, { queue: redis!.url, queueName: qn });
      return queueSweep(store, qn, c, ws);
    },
  };
}

/** Kill or stop a queue sweep's coordinator process and workers; what the queue holds after it. */
function queueSweep(store: Store, qn: string, c: FixtureProcess, ws: WorkerProc[]): RunningSweep {
  const all = [c, ...ws];
  const exitCodes: (number | null)[] = [];
  let givenBack: { trialId: number; hash: string; attempts: number }[] = [];
  const gone = () => waitFor('the coordinator, the workers and their trial processes to exit', () => all.every((p) => groupGone(p.child.pid!)), 15_000);
  return {
    async kill() {
      for (const p of all) signalGroup(p.child.pid!, 'SIGKILL');
      await Promise.all(all.map((p) => p.exited));
      await gone();
    },
    async terminate() {
      // each worker stops its trial process and moves the job back to wait; the coordinator
      // records the release, then is stopped too
      for (const w of ws) w.child.kill('SIGTERM');
      exitCodes.push(...(await Promise.all(ws.map((w) => w.exited))));
      await waitFor('the coordinator to record the released trials', () => runningTrials(store).length === 0, 20_000);
      c.child.kill('SIGTERM');
      await c.exited;
      await gone();
    },
    async checkStopped(s, how) {
      givenBack = listTrials(s, { summaryKeys: [] })
        .filter((t) => t.status !== 'done' && t.attempts > 0)
        .map((t) => ({ trialId: t.id, hash: t.hash, attempts: t.attempts }));
      assert.ok(givenBack.length >= 1, 'trials claimed and not finished');
      if (how !== 'term') return;
      assert.deepEqual(exitCodes, [0, 0], 'the workers exit 0 on SIGTERM');
      assert.ok(ws.some((w) => /^released /m.test(w.output())), 'a worker released its job');
      assert.match(c.output(), /^released /m, 'the coordinator saw the release');
      // back to wait, not failed: no attempt used, nothing in the failed set
      const queue = new Queue(qn, { connection: parseRedisUrl(redis!.url) });
      try {
        for (const t of givenBack) {
          const job = await queue.getJob(t.hash);
          assert.ok(job, `the job of trial ${t.trialId} is still in the queue`);
          assert.equal(job.attemptsMade, 0);
          assert.ok(['wait', 'waiting', 'prioritized'].includes(await job.getState()), `the job of trial ${t.trialId} waits`);
        }
        assert.equal((await queue.getJobCounts('failed', 'delayed')).failed, 0);
      } finally {
        await queue.close();
      }
    },
    checkResumed(s, how) {
      // another worker took each job over: claimed again (a released one exactly once more), no error
      for (const t of givenBack) {
        const now = getTrial(s, t.trialId);
        if (how === 'term') assert.equal(now.attempts, t.attempts + 1, `trial ${t.trialId} claimed once more`);
        else assert.ok(now.attempts > t.attempts, `trial ${t.trialId} was claimed again (attempts ${now.attempts})`);
        assert.equal(now.error, null);
      }
    },
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
