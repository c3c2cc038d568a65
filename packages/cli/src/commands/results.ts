import { resolve } from 'node:path';
import type { CommandModule, Argv } from 'yargs';
import { InputError, log } from '@orthoquant/runtime';
import { openStore } from '@orthoquant/store';
import { exportResults, type TrialPlan } from '@orthoquant/reporter';
import type { GlobalArgs } from '../cli.js';
import { existingDb, taskFromConfig } from './common.js';
import { PUBLISHED_DIR, TABLES_DIR, tableNames, resolveTableSpec } from './tables.js';

interface ExportArgs extends GlobalArgs {
  sweep: string[];
  out: string;
  maxLossPoints: number;
  dataDir?: string;
}

/**
 * Steps per epoch and memoryless baseline of a trial config, from its task (built once per
 * task config; a task that cannot be built here — a dataset missing — gives nulls).
 */
function planner(dataDir: string | undefined): (config: Record<string, unknown>) => TrialPlan {
  const cache = new Map<string, TrialPlan>();
  return (config) => {
    const key = JSON.stringify([config.task, config.batchSize, config.seed]);
    let plan = cache.get(key);
    if (plan) return plan;
    try {
      const task = taskFromConfig(config.task as Record<string, unknown>, { trialSeed: config.seed as number, ...(dataDir ? { dataDir } : {}), path: 'task' });
      plan = { stepsPerEpoch: task.numBatches('train', config.batchSize as number), memorylessLoss: task.memorylessBaseline()?.loss ?? null };
    } catch (e) {
      log().warn(`results: cannot build the task of a trial (${(e as Error).message.split('\n')[0]}); its total steps and baseline stay unknown`);
      plan = { stepsPerEpoch: null, memorylessLoss: null };
    }
    cache.set(key, plan);
    return plan;
  };
}

export const resultsCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'results <command>',
  describe: 'Write the evidence of sweeps from the store: summaries, curves, tables and plots (results/)',
  builder: (y) =>
    y
      .command({
        command: 'export',
        describe: 'Export sweeps to a folder: summary.{json,csv}, curves.csv, tables/*.md, learning-curve SVGs, README.md index',
        builder: (yy: Argv<GlobalArgs>) =>
          yy
            .option('sweep', { alias: 's', type: 'array', string: true, demandOption: true, describe: 'sweep names (repeat or list them)' })
            .option('out', { alias: 'o', type: 'string', default: 'results', describe: 'output folder (one sub-folder per sweep, replaced)' })
            .option('max-loss-points', { type: 'number', default: 2000, describe: 'training-loss points kept per trial (every N-th step + running mean)' })
            .option('data-dir', { type: 'string', describe: 'dataset folder (env ORTHOQUANT_DATA_DIR), for steps per epoch and baselines' })
            .example('$0 results export --sweep repro-copy-hadamrnn repro-pmnist-hadamrnn --out results/', ''),
        handler: (a: unknown) => {
          const args = a as ExportArgs;
          if (!(Number.isInteger(args.maxLossPoints) && args.maxLossPoints >= 2)) throw new InputError(`expected an integer ≥ 2, got ${args.maxLossPoints}`, '--max-loss-points');
          const sweeps = [...new Set(args.sweep.flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean))];
          if (sweeps.length === 0) throw new InputError('name at least one sweep', '--sweep');
          const store = openStore(existingDb(args), { readonly: true });
          try {
            const exported = exportResults(store, {
              sweeps,
              out: args.out,
              tableSpecs: tableNames().map(resolveTableSpec),
              publishedDir: PUBLISHED_DIR,
              planOf: planner(args.dataDir),
              maxLossPoints: args.maxLossPoints,
            });
            for (const e of exported) {
              const counts = e.rows.reduce<Record<string, number>>((m, r) => ((m[r.status] = (m[r.status] ?? 0) + 1), m), {});
              console.log(`${e.sweep}: ${e.rows.length} trials (${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')}) → ${e.dir}: ${e.files.join(', ')}`);
            }
            console.log(`index: ${resolve(args.out, 'README.md')}  (tables from ${TABLES_DIR})`);
          } catch (e) {
            if ((e as Error).message.startsWith('unknown sweep')) throw new InputError((e as Error).message, '--sweep');
            throw e;
          } finally {
            store.close();
          }
        },
      } as never)
      .demandCommand(1, 'name a results command: export') as never,
  handler: () => undefined,
};
