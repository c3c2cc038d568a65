import { readFileSync, writeFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { initBackend, log, InputError, parseYamlWith } from '@orthoquant/runtime';
import { runTrial, trialConfigSchema, type TrainEvent } from '@orthoquant/train';
import type { GlobalArgs } from '../cli.js';
import { createProgress, formatDuration } from '../progress.js';
import { setExitCode, printTable, fmtNumber } from './common.js';
import { EXIT } from '../exit.js';
import { onStopSignals } from '../signals.js';
import { withExamples } from './examples.js';

interface TrainArgs extends GlobalArgs {
  config: string;
  checkpointDir?: string;
  resume?: string;
  out?: string;
  dataDir?: string;
}

export const trainCommand: CommandModule<GlobalArgs, TrainArgs> = {
  command: 'train <config>',
  describe: 'Train one model from a YAML trial config (not recorded in the store; use `sweep run` for that)',
  builder: (y) =>
    withExamples(y, 'train')
      .positional('config', { type: 'string', demandOption: true, describe: 'trial config (YAML): seed, task, model, optimizer, schedule, budget' })
      .option('checkpoint-dir', { type: 'string', describe: 'write checkpoints here' })
      .option('resume', { type: 'string', describe: 'resume from a checkpoint file or the latest in a folder' })
      .option('out', { type: 'string', describe: 'write the final summary as JSON to this file' })
      .option('data-dir', { type: 'string', describe: 'dataset folder (env ORTHOQUANT_DATA_DIR)' })
      .epilogue('Example trial configs: configs/trials/*.yaml (copy task, sMNIST).') as never,
  handler: async (args) => {
    let text: string;
    try {
      text = readFileSync(args.config, 'utf8');
    } catch (err) {
      throw new InputError(`cannot read the trial config (${(err as NodeJS.ErrnoException).code ?? String(err)})`, args.config);
    }
    const config = parseYamlWith(text, args.config, trialConfigSchema);
    const backend = await initBackend(args.backend);
    log().info({ config: args.config, backend: backend.choice }, 'training');
    const bar = createProgress({
      total: 1,
      format: 'train |{bar}| {value}/{total} steps | epoch {epoch} | loss {loss} | {sps} steps/s | ETA {eta_formatted}',
      describe: (v, t, f) => `step ${v}/${t} epoch ${f.epoch ?? '?'} loss ${f.loss ?? '?'}`,
    });
    const controller = new AbortController();
    const offSignals = onStopSignals(() => controller.abort());
    const epochs: Record<string, number>[] = [];
    const started = Date.now();
    try {
      const summary = await runTrial(config, {
        where: args.config,
        signal: controller.signal,
        checkpointDir: args.checkpointDir,
        resumeFrom: args.resume,
        dataDir: args.dataDir,
        progress: {
          start: ({ totalSteps, startStep }) => {
            bar.setTotal(totalSteps);
            bar.update(startStep);
          },
          update: (p) => bar.update(p.step, { epoch: p.epoch, loss: p.loss.toFixed(4), sps: p.stepsPerSecond.toFixed(1) }),
          stop: () => bar.stop(),
        },
        onEvent: (e: TrainEvent) => {
          if (e.type === 'epoch') epochs.push({ epoch: e.epoch, ...e.metrics });
        },
      });
      bar.stop();
      if (epochs.length) {
        const keys = [...new Set(epochs.flatMap((e) => Object.keys(e)))].filter((k) => k !== 'epoch');
        printTable(['epoch', ...keys], epochs.map((e) => [e.epoch, ...keys.map((k) => fmtNumber(e[k]))]));
      }
      console.log(`\nsummary (${formatDuration((Date.now() - started) / 1000)}):`);
      printTable(['metric', 'value'], Object.entries(summary).map(([k, v]) => [k, fmtNumber(v)]));
      if (args.out) writeFileSync(args.out, JSON.stringify({ config, summary }, null, 2) + '\n');
      setExitCode(args, EXIT.ok);
    } catch (err) {
      bar.stop();
      if (controller.signal.aborted) {
        console.error('orthoquant: training interrupted');
        setExitCode(args, EXIT.interrupted);
        return;
      }
      throw err;
    } finally {
      offSignals();
    }
  },
};
