import { existsSync, statSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { initBackend, InputError, isInputError, log } from '@orthoquant/runtime';
import { parsePtqSettings } from '@orthoquant/integer';
import type { PtqSettings } from '@orthoquant/integer';
import { integerStage, loadTrainedModel, parseTrialConfig } from '@orthoquant/train';
import { withExamples } from './examples.js';
import type { GlobalArgs } from '../cli.js';
import { recordedTrial, printTable, fmtNumber, setExitCode, taskFromConfig } from './common.js';
import { EXIT } from '../exit.js';

interface QuantizeArgs extends GlobalArgs {
  run: string;
  actBits: number;
  weightBits?: number;
  statistic: string;
  calibrationBatches?: number;
  out?: string;
  limit?: number;
  batchSize: number;
  dataDir?: string;
}

const FLAGS: Record<string, string> = { actBits: '--act-bits', weightBits: '--weight-bits', statistic: '--statistic', calibrationBatches: '--calibration-batches' };

/** The integer settings of the flags, with errors naming the flag. */
export function settingsFromFlags(a: { actBits: unknown; weightBits?: unknown; statistic?: unknown; calibrationBatches?: unknown }): PtqSettings {
  const rec: Record<string, unknown> = { actBits: a.actBits };
  if (a.weightBits !== undefined) rec.weightBits = a.weightBits;
  if (a.statistic !== undefined) rec.statistic = a.statistic;
  if (a.calibrationBatches !== undefined) rec.calibrationBatches = a.calibrationBatches;
  try {
    return parsePtqSettings(rec, 'flags');
  } catch (e) {
    if (isInputError(e) && e.where?.startsWith('flags.')) throw new InputError(e.message.slice(e.where.length + 2), FLAGS[e.where.slice('flags.'.length)] ?? e.where);
    throw e;
  }
}

export const quantizeCommand: CommandModule<GlobalArgs, QuantizeArgs> = {
  command: 'quantize <run>',
  describe: 'Integer-only PTQ of a recorded trial: calibrate on its training split, write the integer model file, compare float vs integer on test',
  builder: (y) =>
    withExamples(y, 'quantize')
      .positional('run', { type: 'string', demandOption: true, describe: 'trial id or config hash prefix (see `runs list`)' })
      .option('act-bits', { type: 'number', demandOption: true, describe: 'bits of the input and hidden-state codes (6, 8, 10, 12, 16)' })
      .option('weight-bits', { type: 'number', describe: 'bits of weights without QAT bits of their own (default 8)' })
      .option('statistic', { type: 'string', default: 'max', describe: "calibration statistic of |activation|: 'max' or a percentile such as p99.9" })
      .option('calibration-batches', { type: 'number', describe: 'training batches used for calibration (default 10)' })
      .option('out', { type: 'string', describe: 'integer model file to write (default ./trial-<id>-a<bits>.oqint)' })
      .option('limit', { type: 'number', describe: 'evaluate on at most this many test sequences' })
      .option('batch-size', { type: 'number', default: 100, describe: 'sequences per calibration and evaluation batch' })
      .option('data-dir', { type: 'string', describe: 'dataset folder (env ORTHOQUANT_DATA_DIR)' }) as never,
  handler: async (args) => {
    const settings = settingsFromFlags(args);
    if (args.limit !== undefined && !(Number.isInteger(args.limit) && args.limit >= 1)) throw new InputError(`expected an integer ≥ 1, got ${args.limit}`, '--limit');
    if (!(Number.isInteger(args.batchSize) && args.batchSize >= 1)) throw new InputError(`expected an integer ≥ 1, got ${args.batchSize}`, '--batch-size');
    const trial = recordedTrial(args, args.run);
    const where = `run ${trial.id}`;
    const config = parseTrialConfig(trial.config, where);
    const checkpoints = trial.artifacts.filter((a) => a.kind === 'checkpoint').sort((a, b) => (a.step ?? -1) - (b.step ?? -1) || a.createdAt - b.createdAt);
    const ckpt = checkpoints.filter((a) => existsSync(a.path)).at(-1);
    if (!ckpt) {
      throw new InputError(
        checkpoints.length ? `none of its ${checkpoints.length} checkpoint file(s) exists any more (last: ${checkpoints.at(-1)!.path})` : `no checkpoint recorded (status ${trial.status})`,
        where,
      );
    }
    if (trial.status !== 'done') console.error(`orthoquant: note: ${where} is ${trial.status}; using its latest checkpoint (step ${ckpt.step ?? '?'})`);
    const out = args.out ?? `trial-${trial.id}-a${settings.actBits}.oqint`;
    await initBackend(args.backend);
    const task = taskFromConfig(config.task, { trialSeed: config.seed, ...(args.dataDir ? { dataDir: args.dataDir } : {}), path: `${where}: task` });
    const { model, path, step } = loadTrainedModel(config, task, ckpt.path);
    log().info({ run: trial.id, checkpoint: path, actBits: settings.actBits }, 'quantizing');
    let r;
    try {
      r = integerStage(config, task, model, {
        settings,
        splits: ['test'],
        batchSize: args.batchSize,
        ...(args.limit !== undefined ? { limit: args.limit } : {}),
        out,
        metadata: { run: trial.id, hash: trial.hash, checkpoint: path, step },
      });
    } finally {
      model.dispose();
    }
    const test = r.results.find((x) => x.split === 'test');
    console.log(`${where} (${config.model.type} on ${config.task.name}), checkpoint step ${step}: ${settings.actBits}-bit activations, weights ${settings.weightBits ?? 8} bits where not QAT, calibration ${settings.statistic === undefined || settings.statistic === 'max' ? 'max' : `p${settings.statistic.percentile}`}`);
    if (test) {
      printTable(
        ['test split', 'loss', 'accuracy', 'sequences', 'sequences/s'],
        [
          ['float (reference)', fmtNumber(test.float.loss), fmtNumber(test.float.accuracy), test.float.sequences, fmtNumber(test.float.sequencesPerSecond, 0)],
          [`integer (a${settings.actBits})`, fmtNumber(test.integer.loss), fmtNumber(test.integer.accuracy), test.integer.sequences, fmtNumber(test.integer.sequencesPerSecond, 0)],
        ],
      );
    } else console.log('(the task has no test split: nothing evaluated)');
    console.log(`wrote ${out} (${statSync(out).size} bytes)`);
    setExitCode(args, EXIT.ok);
  },
};
