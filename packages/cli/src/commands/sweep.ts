import type { CommandModule, Argv } from 'yargs';
import { trialEtaMs, runSweep, runQueueSweep, exportSlurm, runSlurmTask, ingestSlurm, type SweepProgress } from '@orthoquant/sweep';
import { InputError, setting } from '@orthoquant/runtime';
import { openStore, sweepStatus, listSweeps } from '@orthoquant/store';
import { renderTable } from '@orthoquant/reporter';
import { cpus } from 'node:os';
import type { GlobalArgs } from '../cli.js';
import { createProgress, formatDuration, describeRunning, formatBytes } from '../progress.js';
import { EXIT } from '../exit.js';
import { onStopSignals, signalName } from '../signals.js';
import { setExitCode, existingDb, printTable } from './common.js';
import { tableFromDb } from './tables.js';
import { withExamples } from './examples.js';

interface RunArgs extends GlobalArgs {
  file: string;
  workers: number;
  failFast: boolean;
  force: boolean;
  retryFailed: boolean;
  report?: string;
  trialTimeout?: number;
  queue?: string;
  queueName?: string;
  maxAttempts: number;
  only?: string;
  keepCheckpoints: boolean;
}

function runOptions(y: Argv<GlobalArgs>) {
  return y
    .option('workers', { alias: 'j', type: 'number', default: cpus().length, describe: 'worker processes (training is single-threaded: one per core)' })
    .option('fail-fast', { type: 'boolean', default: false, describe: 'stop at the first failed trial' })
    .option('force', { type: 'boolean', default: false, describe: 'accept a YAML whose trial set changed since the sweep was recorded' })
    .option('retry-failed', { type: 'boolean', default: true, describe: 're-run trials that failed in an earlier run (--no-retry-failed to keep them failed)' })
    .option('only', { type: 'string', describe: "run only the trials matching this filter (`runs list -f` grammar: 'seed = 0 and params.model.type = hadamrnn'); the sweep is still recorded whole" })
    .option('keep-checkpoints', { type: 'boolean', default: false, describe: 'keep every checkpoint of finished trials (default: each keeps its last one)' })
    .option('trial-timeout', { type: 'number', describe: 'fail a trial that runs longer than this many seconds' })
    .option('report', { type: 'string', describe: 'after the sweep, print this table (configs/tables/NAME.yaml)' })
    .option('queue', { type: 'string', describe: 'distribute the trials through this Redis queue (redis://HOST:PORT) to `orthoquant worker`s; this process records their results' })
    .option('queue-name', { type: 'string', describe: 'BullMQ queue name with --queue (default orthoquant-trials)' })
    .option('max-attempts', { type: 'number', default: 3, describe: 'with --queue: attempts per trial (retried with backoff) before it is recorded failed' });
}

async function execute(args: RunArgs, target: { file?: string; name?: string }): Promise<void> {
  if (!Number.isInteger(args.workers) || args.workers < 1) {
    throw new InputError(`expected an integer ≥ 1, got ${args.workers}`, '--workers');
  }
  const bar = createProgress({
    total: 1,
    format: 'sweep |{bar}| {value}/{total} trials | {done} done, {failed} failed, {running} running | ETA {eta}{where}',
    describe: (v, t, f) => `sweep ${v}/${t} trials: ${f.done} done, ${f.failed} failed, ${f.running} running${f.words ? `; ${f.words}` : ''}`,
  });
  const controller = new AbortController();
  const offSignals = onStopSignals((signal) => {
    console.error(`\northoquant: ${signalName(signal)}: stopping — running trials go back to the queue (${signalName(signal)} again to force)`);
    controller.abort();
  });
  try {
    const onProgress = (p: SweepProgress) => {
      bar.setTotal(p.total);
      const where = describeRunning(p.trials);
      bar.update(p.done + p.failed, { done: p.done, failed: p.failed, running: p.running, eta: p.etaMs === null ? '?' : formatDuration(p.etaMs / 1000), where: where ? ` | ${where}` : '', words: where });
    };
    if (args.queue && (args.failFast || args.trialTimeout)) throw new InputError('not supported with --queue (workers run the trials)', args.failFast ? '--fail-fast' : '--trial-timeout');
    if (args.queue && (!Number.isInteger(args.maxAttempts) || args.maxAttempts < 1)) throw new InputError(`expected an integer ≥ 1, got ${args.maxAttempts}`, '--max-attempts');
    const result = args.queue
      ? await runQueueSweep({
          ...target,
          queue: args.queue,
          ...(args.queueName ? { queueName: args.queueName } : {}),
          dbPath: args.db,
          force: args.force,
          retryFailed: args.retryFailed,
          ...(args.only !== undefined ? { only: args.only } : {}),
          maxAttempts: args.maxAttempts,
          signal: controller.signal,
          onProgress,
        })
      : await runSweep({
          ...target,
          dbPath: args.db,
          workers: args.workers,
          failFast: args.failFast,
          force: args.force,
          retryFailed: args.retryFailed,
          ...(args.only !== undefined ? { only: args.only } : {}),
          trialTimeoutMs: args.trialTimeout ? args.trialTimeout * 1000 : undefined,
          keepCheckpoints: args.keepCheckpoints,
          signal: controller.signal,
          onProgress,
        });
    bar.stop();
    console.log(
      `\nsweep '${result.name}': ${result.done}/${result.total} done, ${result.failed} failed, ${result.pending + result.running} not finished` +
        ` (${result.ranThisRun} run now, ${result.alreadyDone} already done) in ${formatDuration(result.durationMs / 1000)}` +
        (result.excluded ? `; ${result.excluded} of ${result.total + result.excluded} trials left out by --only` : ''),
    );
    console.log(`store: ${result.dbPath}   log: ${result.logFile}`);
    if (result.checkpoints) console.log(`checkpoints on disk: ${result.checkpoints.files} file(s), ${formatBytes(result.checkpoints.bytes)}${args.keepCheckpoints ? '' : ' (finished trials keep their last one; --keep-checkpoints keeps all)'}`);
    for (const f of result.failures) console.log(`  failed trial ${f.trialId} (${f.label}): ${f.error.split('\n')[0]}`);
    if (args.report) {
      console.log('');
      console.log(renderTable(tableFromDb(result.dbPath, args.report, { sweep: result.name }), 'md'));
    }
    if (result.stopped === 'aborted') setExitCode(args, EXIT.interrupted);
    else setExitCode(args, result.failed > 0 || result.stopped ? EXIT.failed : EXIT.ok);
  } finally {
    bar.stop();
    offSignals();
  }
}

export const sweepCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'sweep <command>',
  describe: 'Run and inspect YAML sweeps (every trial recorded in the store)',
  builder: (y) =>
    y
      .command({
        command: 'run <file>',
        describe: 'Expand a sweep file and run its trials; an interrupted sweep resumes where it stopped',
        builder: (yy: Argv<GlobalArgs>) =>
          withExamples(runOptions(yy), 'sweep run').positional('file', { type: 'string', demandOption: true, describe: 'sweep YAML (experiments/*.yaml)' }),
        handler: (a: unknown) => execute(a as RunArgs, { file: (a as RunArgs).file }),
      } as never)
      .command({
        command: 'resume <name>',
        describe: 'Resume a recorded sweep from the YAML stored with it (stale running trials are re-queued)',
        builder: (yy: Argv<GlobalArgs>) => runOptions(yy).positional('name', { type: 'string', demandOption: true, describe: 'sweep name' }),
        handler: (a: unknown) => execute(a as RunArgs, { name: (a as { name: string }).name }),
      } as never)
      .command({
        command: 'status [name]',
        describe: 'Counts by status for one sweep (running trials with their heartbeat), or every sweep',
        builder: (yy: Argv<GlobalArgs>) => withExamples(yy, 'sweep status').positional('name', { type: 'string', describe: 'sweep name (all when omitted)' }).option('json', { type: 'boolean', default: false }),
        handler: (a: unknown) => {
          const args = a as GlobalArgs & { name?: string; json: boolean };
          const store = openStore(existingDb(args), { readonly: true });
          try {
            if (args.name) {
              const s = sweepStatus(store, args.name);
              if (args.json) return void console.log(JSON.stringify(s, null, 2));
              console.log(`sweep '${s.sweep.name}' (${s.sweep.specPath ?? 'inline'}): ${s.total} trials`);
              printTable(['pending', 'running', 'done', 'failed'], [[s.pending, s.running, s.done, s.failed]]);
              if (s.runningTrials.length) {
                console.log('');
                printTable(
                  ['trial', 'step', 'steps/s', 'ETA', 'worker', 'pid', 'heartbeat', 'attempt'],
                  s.runningTrials.map((t) => {
                    const eta = trialEtaMs(t.step, t.totalSteps, t.stepsPerSecond);
                    return [
                      t.trialId,
                      t.step === null ? null : `${t.step}${t.totalSteps !== null ? `/${t.totalSteps}` : ''}`,
                      t.stepsPerSecond === null ? null : t.stepsPerSecond.toFixed(1),
                      eta === null ? null : formatDuration(eta / 1000),
                      t.workerId,
                      t.pid,
                      t.heartbeatAt ? `${formatDuration((Date.now() - t.heartbeatAt) / 1000)} ago` : null,
                      t.attempt,
                    ];
                  }),
                );
              }
            } else {
              const rows = listSweeps(store);
              if (args.json) return void console.log(JSON.stringify(rows, null, 2));
              printTable(['sweep', 'total', 'pending', 'running', 'done', 'failed', 'file'], rows.map((r) => [r.name, r.total, r.pending, r.running, r.done, r.failed, r.specPath]));
            }
          } finally {
            store.close();
          }
        },
      } as never)
      .command({
        command: 'export-slurm <file>',
        describe: 'Register a sweep and write a Slurm job-array script with one config per trial to run (then `sweep ingest`)',
        builder: (yy: Argv<GlobalArgs>) =>
          withExamples(yy, 'sweep export-slurm')
            .positional('file', { type: 'string', demandOption: true, describe: 'sweep YAML' })
            .option('out', { type: 'string', demandOption: true, describe: 'folder for sweep.sbatch, manifest.json, trials/, results/' })
            .option('force', { type: 'boolean', default: false, describe: 'accept a YAML whose trial set changed since the sweep was recorded' })
            .option('retry-failed', { type: 'boolean', default: true, describe: 'export trials that failed before too' })
            .option('only', { type: 'string', describe: 'export only the trials matching this filter (`runs list -f` grammar); the sweep is still recorded whole' })
            .option('sbatch', { type: 'array', string: true, default: [], describe: 'extra #SBATCH options as KEY=VALUE (partition=gpu time=04:00:00 mem=4G)' }),
        handler: async (a: unknown) => {
          const args = a as GlobalArgs & { file: string; out: string; force: boolean; retryFailed: boolean; sbatch: string[]; only?: string };
          const sbatch: Record<string, string> = {};
          for (const kv of args.sbatch) {
            const m = /^([A-Za-z][\w-]*)=(.+)$/.exec(kv);
            if (!m) throw new InputError(`expected KEY=VALUE (partition=gpu), got '${kv}'`, '--sbatch');
            sbatch[m[1]!] = m[2]!;
          }
          const r = await exportSlurm({ file: args.file, out: args.out, dbPath: args.db, force: args.force, retryFailed: args.retryFailed, sbatch, ...(args.only !== undefined ? { only: args.only } : {}) });
          console.log(`sweep '${r.sweep}': ${r.count} trials to run exported to ${r.dir} (${r.done} already done${r.excluded ? `, ${r.excluded} left out by --only` : ''})`);
          if (r.script) console.log(`submit:  sbatch ${r.script}\nthen:    orthoquant sweep ingest ${r.dir} --db ${args.db}`);
        },
      } as never)
      .command({
        command: 'run-task <dir>',
        describe: 'Run one trial of a Slurm export (what each array task runs); results go to DIR/results/INDEX.jsonl',
        builder: (yy: Argv<GlobalArgs>) =>
          yy
            .positional('dir', { type: 'string', demandOption: true, describe: 'the export folder' })
            .option('index', { type: 'number', describe: 'trial index (default: $SLURM_ARRAY_TASK_ID)' }),
        handler: async (a: unknown) => {
          const args = a as GlobalArgs & { dir: string; index?: number };
          const task = setting('slurmArrayTaskId');
          const index = args.index ?? (task !== undefined ? Number(task) : NaN);
          if (!Number.isInteger(index)) throw new InputError('give --index or run inside a Slurm array task (SLURM_ARRAY_TASK_ID)', '--index');
          const outcome = await runSlurmTask({ dir: args.dir, index });
          console.log(`task ${index}: ${outcome}`);
          setExitCode(args, outcome === 'failed' ? EXIT.failed : EXIT.ok);
        },
      } as never)
      .command({
        command: 'ingest <dir>',
        describe: 'Record the results of a Slurm export into the store (repeatable: nothing is recorded twice)',
        builder: (yy: Argv<GlobalArgs>) => yy.positional('dir', { type: 'string', demandOption: true, describe: 'the export folder' }),
        handler: (a: unknown) => {
          const args = a as GlobalArgs & { dir: string };
          const r = ingestSlurm({ dir: args.dir, dbPath: existingDb(args) });
          console.log(
            `sweep '${r.sweep}': recorded ${r.done} done and ${r.failed} failed; ${r.alreadyDone} were already done, ${r.alreadyFailed} already failed; ` +
              `${r.unfinished.length} without a result yet${r.unfinished.length ? ` (tasks ${r.unfinished.join(', ')})` : ''}`,
          );
          setExitCode(args, r.unfinished.length ? EXIT.failed : EXIT.ok);
        },
      } as never)
      .demandCommand(1, 'name a sweep command: run, resume, status, export-slurm, run-task or ingest') as never,
  handler: () => undefined,
};
