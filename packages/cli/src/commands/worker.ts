import type { CommandModule } from 'yargs';
import { startQueueWorker } from '@orthoquant/sweep';
import { InputError, log } from '@orthoquant/runtime';
import { withExamples } from './examples.js';
import type { GlobalArgs } from '../cli.js';
import { EXIT } from '../exit.js';
import { onStopSignals, signalName } from '../signals.js';
import { setExitCode } from './common.js';

interface WorkerArgs extends GlobalArgs {
  queue: string;
  concurrency: number;
  dataDir: string;
  queueName?: string;
  runner?: string;
  lockDuration: number;
}

/** `orthoquant worker --queue redis://HOST:PORT`: run trials from a distributed sweep's queue. */
export const workerCommand: CommandModule<GlobalArgs, WorkerArgs> = {
  command: 'worker',
  describe: 'Run trials of distributed sweeps from a Redis queue (never opens the store; Ctrl-C / SIGTERM gives running trials back)',
  builder: (y) =>
    withExamples(y, 'worker')
      .option('queue', { type: 'string', demandOption: true, describe: 'Redis URL of the sweep queue: redis://HOST:PORT[/DB]' })
      .option('concurrency', { alias: 'j', type: 'number', default: 1, describe: 'trials at once (each in its own process; training is single-threaded: one per core)' })
      .option('data-dir', { type: 'string', default: 'orthoquant-worker', describe: 'folder for checkpoints (runs/<config hash>) on this machine' })
      .option('queue-name', { type: 'string', describe: 'BullMQ queue name (default orthoquant-trials; must match the coordinator)' })
      .option('runner', { type: 'string', describe: 'trainer module to use instead of the one each job names' })
      .option('lock-duration', { type: 'number', default: 30, describe: 'seconds before a trial of a dead worker goes back to the queue' }) as never,
  handler: async (args) => {
    if (!Number.isInteger(args.concurrency) || args.concurrency < 1) throw new InputError(`expected an integer ≥ 1, got ${args.concurrency}`, '--concurrency');
    if (!(args.lockDuration >= 2)) throw new InputError(`expected a number of seconds ≥ 2, got ${args.lockDuration}`, '--lock-duration');
    const w = await startQueueWorker({
      queue: args.queue,
      concurrency: args.concurrency,
      dataDir: args.dataDir,
      lockDurationMs: Math.round(args.lockDuration * 1000),
      ...(args.queueName ? { queueName: args.queueName } : {}),
      ...(args.runner ? { runnerModule: args.runner } : {}),
      onJob: (e) => console.log(`${new Date().toISOString()}  ${e.type.padEnd(8)} ${e.label}${e.error ? `: ${e.error.split('\n')[0]}` : ''}`),
    });
    console.log(`worker ready: ${args.queue}, ${args.concurrency} at a time (Ctrl-C or SIGTERM to stop; running trials go back to the queue)`);
    const offSignals = onStopSignals((signal) => {
      console.error(`\northoquant worker: ${signalName(signal)}: giving running trials back to the queue (${signalName(signal)} again to force)`);
      void w.stop(signal);
    });
    try {
      await w.closed;
    } finally {
      offSignals();
    }
    log().info('worker stopped');
    setExitCode(args, EXIT.ok);
  },
};
