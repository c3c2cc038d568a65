/**
 * The Slurm route without Slurm: export a tiny sweep, run the job-array script's command with
 * bash for each SLURM_ARRAY_TASK_ID, ingest; then a crashed task re-run (resuming from its
 * checkpoint), ingest again, and once more to check nothing is duplicated.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, listTrials, runningTrials, checkpoints, sweepStatus, type Store } from '@orthoquant/store';
import { exportSlurm, ingestSlurm, type SlurmManifest, type SlurmTrialFile } from '../index.js';
import { FAKE_TRAINER } from '../testing.js';
import { sandbox, signalGroup, type Sandbox } from '../test-fixtures/helpers.js';
import { CONTRACT, type ExecutorHarness } from '../test-fixtures/contract.js';
import { duplicateMetricRows, metricRowCount } from '@orthoquant/store/testing';

const TASK = fileURLToPath(new URL('../test-fixtures/slurm-task.ts', import.meta.url));

test('export-slurm → array tasks run locally → ingest records every result once', async () => {
  const sb = sandbox('orthoquant-slurm-');
  const store = openStore(sb.db);
  try {
    const file = sb.write('s.yaml', `
name: s
parameters:
  id: { value: x }
  steps: { value: 10 }
  stepMs: { value: 1 }
  checkpointEvery: { value: 4 }
  crashOnceAt: { values: [100, 6] }
  failAt: { values: [100, 3] }
`);
    const out = join(sb.dir, 'export');
    const ex = (await exportSlurm({ store, file, out, runnerModule: FAKE_TRAINER, sbatch: { partition: 'gpu', time: '01:00:00' } }));
    assert.equal(ex.count, 4);
    const script = readFileSync(ex.script!, 'utf8');
    assert.match(script, /^#SBATCH --array=0-3$/m);
    assert.match(script, /^#SBATCH --partition=gpu$/m);
    assert.match(script, /sweep run-task .* --index "\$SLURM_ARRAY_TASK_ID"/);
    assert.deepEqual(readdirSync(join(out, 'trials')).sort(), ['0.json', '1.json', '2.json', '3.json']);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as SlurmManifest;
    const trial = (i: number) => JSON.parse(readFileSync(join(out, 'trials', `${i}.json`), 'utf8')) as SlurmTrialFile;
    assert.equal(trial(2).hash, manifest.hashes[2]);

    const cmd = `${process.execPath} ${process.execArgv.filter((a) => !a.startsWith('--test')).join(' ')} ${TASK}`;
    const runTask = (i: number) =>
      new Promise<{ status: number | null; stdout: string }>((res) => {
        const c = spawn('bash', [ex.script!], { env: { ...process.env, SLURM_ARRAY_TASK_ID: String(i), ORTHOQUANT_CMD: cmd }, stdio: ['ignore', 'pipe', 'inherit'], timeout: 60_000 });
        let stdout = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d));
        c.on('close', (status) => res({ status, stdout }));
      });
    const kind = (i: number) => {
      const c = trial(i).config as { crashOnceAt: number; failAt: number };
      return c.failAt === 3 ? 'fail' : c.crashOnceAt === 6 ? 'crash' : 'ok';
    };
    const codes = (await Promise.all([0, 1, 2, 3].map(runTask))).map((r) => r.status);
    for (const i of [0, 1, 2, 3]) assert.equal(codes[i], { ok: 0, fail: 1, crash: 3 }[kind(i)], `task ${i} (${kind(i)})`);

    const first = ingestSlurm({ dir: out, store });
    const crashIdx = [0, 1, 2, 3].find((i) => kind(i) === 'crash')!;
    assert.deepEqual([first.done, first.failed, first.alreadyDone, first.unfinished], [1, 2, 0, [crashIdx]]);
    const byHash = () => new Map(listTrials(store, { sweep: 's', summaryKeys: [] }).map((t) => [t.hash, t]));
    const failed = [...byHash().values()].filter((t) => t.status === 'failed');
    assert.equal(failed.length, 2);
    for (const t of failed) assert.match(t.error ?? '', /diverged at step 3/);
    assert.equal(byHash().get(manifest.hashes[crashIdx]!)!.status, 'pending');

    // the crashed task is run again (Slurm requeue): it resumes from its step-4 checkpoint
    assert.equal((await runTask(crashIdx)).status, 0);
    assert.equal((await runTask(crashIdx)).stdout.trim(), 'skipped');
    const second = ingestSlurm({ dir: out, store });
    assert.deepEqual([second.done, second.failed, second.alreadyDone, second.alreadyFailed, second.unfinished], [1, 0, 1, 2, []]);
    const third = ingestSlurm({ dir: out, store });
    assert.deepEqual([third.done, third.failed, third.alreadyDone, third.alreadyFailed], [0, 0, 2, 2]);

    for (const i of [0, 1, 2, 3].filter((j) => kind(j) !== 'fail')) {
      const t = byHash().get(manifest.hashes[i]!)!;
      assert.equal(t.status, 'done');
      const n = metricRowCount(store, t.id);
      assert.equal(n, 10 * 2 + 2 * 2, `task ${i}: all steps recorded, across both attempts`);
      const ck = { n: checkpoints(store, t.id).length };
      assert.equal(ck.n, 2);
    }
    assert.deepEqual(duplicateMetricRows(store), []);
    assert.deepEqual(runningTrials(store), []);

    // exporting again: only what is not done or failed is left (the failed ones are retried)
    const again = (await exportSlurm({ store, file, out: join(sb.dir, 'export2'), runnerModule: FAKE_TRAINER, retryFailed: false }));
    assert.deepEqual([again.count, again.done, again.script], [0, 2, null]);
  } finally {
    store.close();
    sb.cleanup();
  }
});

test('export-slurm --only writes only the matching trials (the sweep is registered whole)', async () => {
  const sb = sandbox('orthoquant-slurm-only-');
  const store = openStore(sb.db);
  try {
    const file = sb.write('o.yaml', `name: o\nparameters:\n  id: { values: [x, y] }\n  steps: { value: 2 }\nseeds: [0, 1, 2]\n`);
    const ex = await exportSlurm({ store, file, out: join(sb.dir, 'export'), runnerModule: FAKE_TRAINER, only: 'seed = 1' });
    assert.deepEqual([ex.count, ex.excluded, ex.done], [2, 4, 0]);
    const manifest = JSON.parse(readFileSync(join(ex.dir, 'manifest.json'), 'utf8')) as SlurmManifest;
    const configs = [0, 1].map((i) => (JSON.parse(readFileSync(join(ex.dir, 'trials', `${i}.json`), 'utf8')) as SlurmTrialFile).config);
    assert.deepEqual(configs.map((c) => [c.id, c.seed]), [['x', 1], ['y', 1]]);
    assert.equal(manifest.count, 2);
    assert.equal(listTrials(store, { sweep: 'o', summaryKeys: [] }).length, 6);
  } finally {
    store.close();
    sb.cleanup();
  }
});

/**
 * An array job without Slurm: the script's command for each task index, with bash, at most
 * `parallel` at a time (`--array=…%2`), each task in its own process group. `signal` stops the
 * job: no task starts any more and the running ones get the signal.
 */
function arrayJob(script: string, indexes: number[], env: NodeJS.ProcessEnv, parallel = 2): { finished: Promise<Map<number, number | null>>; signal(s: NodeJS.Signals): void } {
  const cmd = `${process.execPath} ${process.execArgv.filter((a) => !a.startsWith('--test')).join(' ')} ${TASK}`;
  const todo = [...indexes];
  const running = new Map<number, ChildProcess>();
  const codes = new Map<number, number | null>();
  let stopped = false;
  const finished = new Promise<Map<number, number | null>>((resolve) => {
    const next = () => {
      while (!stopped && todo.length && running.size < parallel) {
        const i = todo.shift()!;
        const c = spawn('bash', [script], { env: { ...process.env, ...env, SLURM_ARRAY_TASK_ID: String(i), ORTHOQUANT_CMD: cmd }, stdio: 'ignore', detached: true, timeout: 60_000 });
        running.set(i, c);
        c.on('close', (code) => {
          running.delete(i);
          codes.set(i, code);
          next();
        });
      }
      if (running.size === 0 && (stopped || !todo.length)) resolve(codes);
    };
    next();
  });
  return {
    finished,
    signal(sig) {
      stopped = true;
      for (const c of running.values()) signalGroup(c.pid!, sig);
    },
  };
}

/**
 * Slurm without Slurm: export, run the array tasks with bash, ingest. A sweep exported once is
 * run again the Slurm way: its unfinished tasks are requeued (resuming from their checkpoints),
 * then ingested.
 */
function slurmHarness(sb: Sandbox, completionLog: string): ExecutorHarness {
  const exported = new Map<string, string>();
  const env = { FAKE_TRAINER_LOG: completionLog };
  const exportOnce = async (store: Store, file: string): Promise<{ dir: string; script: string | null; todo: number[] }> => {
    const dir = exported.get(file);
    if (dir) {
      const script = join(dir, 'sweep.sbatch');
      return { dir, script: existsSync(script) ? script : null, todo: ingestSlurm({ dir, store }).unfinished };
    }
    const ex = await exportSlurm({ store, file, out: join(sb.dir, `export-${exported.size}`), runnerModule: FAKE_TRAINER });
    exported.set(file, ex.dir);
    return { dir: ex.dir, script: ex.script, todo: Array.from({ length: ex.count }, (_, i) => i) };
  };
  return {
    name: 'slurm',
    completionLog,
    async run(store, file) {
      const { dir, script, todo } = await exportOnce(store, file);
      if (script && todo.length) await arrayJob(script, todo, env).finished;
      const ing = ingestSlurm({ dir, store });
      const s = sweepStatus(store, ing.sweep);
      return { done: s.done, failed: s.failed };
    },
    async start(store, file) {
      const { dir, script, todo } = await exportOnce(store, file);
      const job = arrayJob(script!, todo, env);
      let codes = new Map<number, number | null>();
      // the job is killed or cancelled; then its results are ingested, as after any array job
      const stop = async (sig: NodeJS.Signals) => {
        job.signal(sig);
        codes = await job.finished;
        ingestSlurm({ dir, store });
      };
      const results = (i: number) => {
        const f = join(dir, 'results', `${i}.jsonl`);
        return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string }) : [];
      };
      return {
        kill: () => stop('SIGKILL'),
        terminate: () => stop('SIGTERM'),
        checkStopped(_s, how) {
          const killed = [...codes].filter(([, c]) => c === null).map(([i]) => i);
          if (how === 'kill') return assert.ok(killed.length >= 1, `a task was killed: exit codes ${JSON.stringify([...codes])}`);
          // each task that had begun its trial ended its attempt released, and exited 0 (or it had
          // finished its trial and was on its way out)
          const ends = [...codes.keys()].filter((i) => results(i).length).map((i) => ({ i, end: results(i).at(-1)!.type, code: codes.get(i) }));
          assert.ok(ends.some((e) => e.end === 'released'), `a task released its trial: ${JSON.stringify(ends)}`);
          for (const e of ends) assert.ok(e.end === 'done' || (e.end === 'released' && e.code === 0), `task ${e.i} stopped gracefully: ${JSON.stringify(e)}`);
        },
      };
    },
  };
}

for (const { what, scenario } of CONTRACT.filter((c) => !c.live)) {
  test(`Slurm executor contract: ${what}`, async () => {
    const sb = sandbox('orthoquant-slurm-contract-');
    const store = openStore(sb.db);
    try {
      await scenario(slurmHarness(sb, join(sb.dir, 'completions.log')), sb, store);
    } finally {
      store.close();
      sb.cleanup();
    }
  });
}
