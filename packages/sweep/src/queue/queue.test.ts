/**
 * Distributed sweeps on a real redis-server (127.0.0.1, free port, no persistence): worker
 * processes run the fake trainer, the coordinator (this process) alone writes the store.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { openStore, listTrials, runningTrials, type Store } from '@orthoquant/store';
import { runQueueSweep, enqueueSweep, parseRedisUrl, DEFAULT_QUEUE_NAME, type SweepResult } from '../index.js';
import { FAKE_TRAINER } from '../testing.js';
import { sandbox, waitFor, pidGone, type Sandbox } from '../test-fixtures/helpers.js';
import { redisSkipReason, startRedis, type TestRedis } from '../test-fixtures/redis.js';

const skip = redisSkipReason();
let redis: TestRedis | null = null;
before(async () => {
  if (!skip) redis = await startRedis();
});
after(async () => {
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
  id: { values: [${Array.from({ length: ids }, (_, i) => `t${i}`).join(', ')}] }
  steps: { value: ${steps} }
  stepMs: { value: ${stepMs} }${extra}
seeds: [0, 1]
`;

/** Every trial done once, with exactly its metric rows. */
function assertAllDoneOnce(store: Store, sweep: string, n: number, steps: number): void {
  const rows = listTrials(store, { sweep, summaryKeys: [] });
  assert.equal(rows.length, n);
  assert.deepEqual(rows.map((r) => r.status), Array(n).fill('done'));
  for (const r of rows) {
    const m = (store.sqlite.prepare('SELECT count(*) AS n FROM metrics WHERE trial_id = ?').get(r.id) as { n: number }).n;
    assert.equal(m, steps * 2 + Math.floor(steps / 5) * 2, `trial ${r.id} has ${m} metric rows`);
    const s = store.sqlite.prepare(`SELECT final FROM summary WHERE trial_id = ? AND key = 'test_acc'`).get(r.id) as { final: number } | undefined;
    assert.ok(s && s.final > 0, `trial ${r.id} has a test_acc summary`);
  }
  assert.deepEqual(store.sqlite.prepare('SELECT trial_id, key, step, count(*) AS c FROM metrics GROUP BY trial_id, key, step HAVING c > 1').all(), []);
  assert.deepEqual(runningTrials(store), []);
}

function completions(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).sort() : [];
}

function queueName(t: string): string {
  return `${DEFAULT_QUEUE_NAME}-${t}-${process.pid}`;
}

test('two worker processes complete every trial exactly once; the coordinator alone writes the store', { skip: skip ?? false }, async () => {
  const sb = sandbox('orthoquant-queue-');
  const log = join(sb.dir, 'completions.log');
  const qn = queueName('two');
  const ws = [startWorkerQ(sb, 'w1', qn, log), startWorkerQ(sb, 'w2', qn, log)];
  const store = openStore(sb.db);
  try {
    const file = sb.write('q.yaml', sweepYaml('q', 3, 12, 30));
    await waitFor('both workers', () => ws.every((w) => w.output().includes('ready')), 30_000);
    const events: string[] = [];
    const r = await runQueueSweep({ queue: redis!.url, queueName: qn, store, file, runnerModule: FAKE_TRAINER, pollMs: 200, onProgress: (p) => p.event && events.push(p.event.type) });
    assert.equal(r.done, 6);
    assert.equal(r.failed, 0);
    assert.equal(r.ranThisRun, 6);
    assertAllDoneOnce(store, 'q', 6, 12);
    // each config trained to completion exactly once, by either worker
    assert.deepEqual(completions(log), ['t0', 't0', 't1', 't1', 't2', 't2']);
    for (const t of listTrials(store, { sweep: 'q', summaryKeys: [] })) assert.equal(t.attempts, 1);
    assert.equal(events.filter((e) => e === 'done').length, 6);
    // both workers took jobs
    for (const w of ws) assert.match(w.output(), /^done /m);
  } finally {
    store.close();
    await stopWorkers(ws);
    sb.cleanup();
  }
});

function startWorkerQ(sb: Sandbox, name: string, qn: string, log: string): WorkerProc {
  return startWorker(sb, name, { FAKE_TRAINER_LOG: log, ORTHOQUANT_TEST_QUEUE: qn });
}

test('a worker killed with SIGKILL mid-trial: the trial is retried elsewhere and the sweep completes', { skip: skip ?? false }, async () => {
  const sb = sandbox('orthoquant-queue-');
  const log = join(sb.dir, 'completions.log');
  const qn = queueName('kill');
  const victim = startWorkerQ(sb, 'victim', qn, log);
  const store = openStore(sb.db);
  const ws = [victim];
  try {
    const file = sb.write('k.yaml', sweepYaml('k', 2, 30, 40));
    await waitFor('the victim worker', () => victim.output().includes('ready'), 20_000);
    const run = runQueueSweep({ queue: redis!.url, queueName: qn, store, file, runnerModule: FAKE_TRAINER, pollMs: 200 });
    // kill once the trial has metrics in the store (recorded from its progress events)
    await waitFor('a trial under way with metrics', () => {
      const t = runningTrials(store)[0];
      return !!t && (store.sqlite.prepare('SELECT count(*) AS n FROM metrics WHERE trial_id = ?').get(t.trialId) as { n: number }).n > 4;
    }, 20_000);
    const killed = runningTrials(store)[0]!.trialId;
    victim.child.kill('SIGKILL');
    await victim.exited;
    ws.push(startWorkerQ(sb, 'rescuer', qn, log));
    const r: SweepResult = await run;
    assert.equal(r.done, 4);
    assert.equal(r.failed, 0);
    assertAllDoneOnce(store, 'k', 4, 30);
    const t = listTrials(store, { sweep: 'k', summaryKeys: [] }).find((x) => x.id === killed)!;
    assert.ok(t.attempts >= 2, `the killed trial was claimed again (attempts ${t.attempts})`);
    assert.deepEqual(completions(log), ['t0', 't0', 't1', 't1']);
    // the killed worker's trial process did not outlive it
    await waitFor('no orphan trial process', () => !/^start /m.test(victim.output()) || pidGone(victim.child.pid!), 5000);
  } finally {
    store.close();
    await stopWorkers(ws);
    sb.cleanup();
  }
});

test('enqueueing a sweep again adds no job; a restarted coordinator records what finished while it was away', { skip: skip ?? false }, async () => {
  const sb = sandbox('orthoquant-queue-');
  const qn = queueName('idem');
  const store = openStore(sb.db);
  const queue = new Queue(qn, { connection: parseRedisUrl(redis!.url) });
  let ws: WorkerProc[] = [];
  try {
    const file = sb.write('i.yaml', sweepYaml('i', 3, 10, 5));
    const a = await enqueueSweep({ queue: redis!.url, queueName: qn, store, file, runnerModule: FAKE_TRAINER });
    assert.deepEqual([a.toRun, a.added, a.existing], [6, 6, 0]);
    const b = await enqueueSweep({ queue: redis!.url, queueName: qn, store, file, runnerModule: FAKE_TRAINER });
    assert.deepEqual([b.toRun, b.added, b.existing], [6, 0, 6]);
    const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'completed', 'failed');
    assert.equal(Object.values(counts).reduce((x, y) => x + y, 0), 6);
    // workers run everything with no coordinator listening
    ws = [startWorkerQ(sb, 'w', qn, join(sb.dir, 'c.log'))];
    await waitFor('all jobs completed', () => completions(join(sb.dir, 'c.log')).length === 6, 30_000);
    assert.equal(listTrials(store, { sweep: 'i', summaryKeys: [] }).filter((t) => t.status === 'done').length, 0);
    const r = await runQueueSweep({ queue: redis!.url, queueName: qn, store, file, runnerModule: FAKE_TRAINER, pollMs: 200 });
    assert.equal(r.done, 6);
    assertAllDoneOnce(store, 'i', 6, 10);
    assert.equal((await queue.getJobCounts('completed')).completed, 6);
    // and once more: nothing to do, nothing re-run
    const again = await runQueueSweep({ queue: redis!.url, queueName: qn, store, file, runnerModule: FAKE_TRAINER, pollMs: 200 });
    assert.deepEqual([again.done, again.ranThisRun, again.alreadyDone], [6, 0, 6]);
    assert.equal(completions(join(sb.dir, 'c.log')).length, 6);
  } finally {
    await queue.close();
    store.close();
    await stopWorkers(ws);
    sb.cleanup();
  }
});

test('SIGTERM returns the in-flight job to the queue (waiting, not failed); another worker finishes it', { skip: skip ?? false }, async () => {
  const sb = sandbox('orthoquant-queue-');
  const log = join(sb.dir, 'completions.log');
  const qn = queueName('term');
  const queue = new Queue(qn, { connection: parseRedisUrl(redis!.url) });
  const store = openStore(sb.db);
  const first = startWorkerQ(sb, 'first', qn, log);
  const ws = [first];
  try {
    const file = sb.write('s.yaml', `
name: s
parameters:
  id: { value: only }
  steps: { value: 60 }
  stepMs: { value: 50 }
`);
    const run = runQueueSweep({ queue: redis!.url, queueName: qn, store, file, runnerModule: FAKE_TRAINER, pollMs: 200 });
    await waitFor('the job to start', () => /^start /m.test(first.output()), 20_000);
    await waitFor('metrics in the store', () => (store.sqlite.prepare('SELECT count(*) AS n FROM metrics').get() as { n: number }).n > 2, 10_000);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    assert.match(first.output(), /^released /m);
    const [job] = await queue.getJobs(['wait', 'waiting', 'delayed', 'prioritized']);
    assert.ok(job, 'the job is back in wait');
    assert.equal(job.attemptsMade, 0);
    assert.equal((await queue.getJobCounts('failed')).failed, 0);
    await waitFor('the trial to be pending again', () => listTrials(store, { sweep: 's', summaryKeys: [] })[0]!.status === 'pending', 5000);
    ws.push(startWorkerQ(sb, 'second', qn, log));
    const r = await run;
    assert.equal(r.done, 1);
    assertAllDoneOnce(store, 's', 1, 60);
    assert.deepEqual(completions(log), ['only']);
  } finally {
    await queue.close();
    store.close();
    await stopWorkers(ws);
    sb.cleanup();
  }
});

test('a trial that keeps failing ends failed with its error after its attempts', { skip: skip ?? false }, async () => {
  const sb = sandbox('orthoquant-queue-');
  const qn = queueName('fail');
  const ws = [startWorkerQ(sb, 'w', qn, join(sb.dir, 'c.log'))];
  const store = openStore(sb.db);
  try {
    const file = sb.write('f.yaml', `
name: f
parameters:
  id: { values: [ok, bad] }
  failAt: { value: 3 }
  steps: { value: 6 }
`.replace('failAt: { value: 3 }', ''));
    const bad = sb.write('g.yaml', `
name: g
parameters:
  id: { value: bad }
  failAt: { value: 3 }
  steps: { value: 6 }
`);
    void file;
    const r = await runQueueSweep({ queue: redis!.url, queueName: qn, store, file: bad, runnerModule: FAKE_TRAINER, pollMs: 200, maxAttempts: 2, backoffMs: 100 });
    assert.equal(r.failed, 1);
    assert.match(r.failures[0]!.error, /diverged at step 3/);
    assert.match(r.failures[0]!.error, /after 2 attempts/);
    const t = listTrials(store, { sweep: 'g', summaryKeys: [] })[0]!;
    assert.equal(t.status, 'failed');
  } finally {
    store.close();
    await stopWorkers(ws);
    sb.cleanup();
  }
});
