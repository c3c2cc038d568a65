import type { CommandModule, Argv } from 'yargs';
import { runSweep, type SweepProgress } from '@orthoquant/sweep';
import { InputError } from '@orthoquant/runtime';
import { openStore, sweepStatus, listSweeps } from '@orthoquant/store';
import { renderTable } from '@orthoquant/reporter';
import { cpus } from 'node:os';
import type { GlobalArgs } from '../cli.js';
import { createProgress, formatDuration } from '../progress.js';
import { EXIT } from '../exit.js';
import { setExitCode, existingDb, printTable } from './common.js';
import { tableFromDb } from './tables.js';

interface RunArgs extends GlobalArgs {
  file: string;
  workers: number;
  failFast: boolean;
  force: boolean;
  retryFailed: boolean;
  report?: string;
  trialTimeout?: number;
}

function runOptions(y: Argv<GlobalArgs>) {
  return y
    .option('workers', { alias: 'j', type: 'number', default: cpus().length, describe: 'worker processes (training is single-threaded: one per core)' })
    .option('fail-fast', { type: 'boolean', default: false, describe: 'stop at the first failed trial' })
    .option('force', { type: 'boolean', default: false, describe: 'accept a YAML whose trial set changed since the sweep was recorded' })
    .option('retry-failed', { type: 'boolean', default: true, describe: 're-run trials that failed in an earlier run (--no-retry-failed to keep them failed)' })
    .option('trial-timeout', { type: 'number', describe: 'fail a trial that runs longer than this many seconds' })
    .option('report', { type: 'string', describe: 'after the sweep, print this table (configs/tables/NAME.yaml)' });
}

async function execute(args: RunArgs, target: { file?: string; name?: string }): Promise<void> {
  if (!Number.isInteger(args.workers) || args.workers < 1) {
    throw new InputError(`expected an integer ≥ 1, got ${args.workers}`, '--workers');
  }
  const bar = createProgress({
    total: 1,
    format: 'sweep |{bar}| {value}/{total} trials | {done} done, {failed} failed, {running} running | ETA {eta}',
    describe: (v, t, f) => `sweep ${v}/${t} trials: ${f.done} done, ${f.failed} failed, ${f.running} running`,
  });
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      console.error('\northoquant: stopping — running trials go back to the queue (Ctrl-C again to force)');
      controller.abort();
    } else process.exit(EXIT.interrupted);
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await runSweep({
      ...target,
      dbPath: args.db,
      workers: args.workers,
      failFast: args.failFast,
      force: args.force,
      retryFailed: args.retryFailed,
      trialTimeoutMs: args.trialTimeout ? args.trialTimeout * 1000 : undefined,
      signal: controller.signal,
      onProgress: (p: SweepProgress) => {
        bar.setTotal(p.total);
        bar.update(p.done + p.failed, { done: p.done, failed: p.failed, running: p.running, eta: p.etaMs === null ? '?' : formatDuration(p.etaMs / 1000) });
      },
    });
    bar.stop();
    console.log(
      `\nsweep '${result.name}': ${result.done}/${result.total} done, ${result.failed} failed, ${result.pending + result.running} not finished` +
        ` (${result.ranThisRun} run now, ${result.alreadyDone} already done) in ${formatDuration(result.durationMs / 1000)}`,
    );
    console.log(`store: ${result.dbPath}   log: ${result.logFile}`);
    for (const f of result.failures) console.log(`  failed trial ${f.trialId} (${f.label}): ${f.error.split('\n')[0]}`);
    if (args.report) {
      console.log('');
      console.log(renderTable(tableFromDb(result.dbPath, args.report, { sweep: result.name }), 'md'));
    }
    if (result.stopped === 'aborted') setExitCode(args, EXIT.interrupted);
    else setExitCode(args, result.failed > 0 || result.stopped ? EXIT.failed : EXIT.ok);
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
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
          runOptions(yy)
            .positional('file', { type: 'string', demandOption: true, describe: 'sweep YAML (experiments/*.yaml)' })
            .example('$0 sweep run experiments/quickstart.yaml --report quickstart', 'run the quickstart and print its table'),
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
        builder: (yy: Argv<GlobalArgs>) => yy.positional('name', { type: 'string', describe: 'sweep name (all when omitted)' }).option('json', { type: 'boolean', default: false }),
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
                  ['trial', 'worker', 'pid', 'heartbeat', 'attempt'],
                  s.runningTrials.map((t) => [t.trialId, t.workerId, t.pid, t.heartbeatAt ? `${formatDuration((Date.now() - t.heartbeatAt) / 1000)} ago` : null, t.attempt]),
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
      .demandCommand(1, 'name a sweep command: run, resume or status') as never,
  handler: () => undefined,
};
