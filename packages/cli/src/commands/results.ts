import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CommandModule, Argv } from 'yargs';
import { initBackend, InputError, log } from '@orthoquant/runtime';
import { openStore, latestCheckpoint, listTrials } from '@orthoquant/store';
import { exportResults, resultRows, writeResultRows, formatValue, type ResultRow, type TrialPlan } from '@orthoquant/reporter';
import { integerStage, loadTrainedModel, parseTrialConfig } from '@orthoquant/train';
import type { GlobalArgs } from '../cli.js';
import { existingDb, printTable, taskFromConfig } from './common.js';
import { settingsFromFlags } from './quantize.js';
import { PUBLISHED_DIR, TABLES_DIR, tableNames, resolveTableSpec } from './tables.js';

interface ExportArgs extends GlobalArgs {
  sweep: string[];
  table?: string[];
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

interface IntegerArgs extends GlobalArgs {
  sweep: string;
  actBits: number[];
  weightBits?: number;
  statistic: string;
  filter?: string;
  limit?: number;
  batchSize: number;
  out: string;
  dataDir?: string;
}

/**
 * Integer-only inference of a sweep's trained models (each trial's latest checkpoint) at each
 * activation width, next to the float reference: rows of `<out>/<sweep>-integer/summary.json`
 * with the trial's config plus `integer: { actBits, weightBits, statistic, checkpointStep }`.
 */
async function integerResults(args: IntegerArgs): Promise<void> {
  if (!args.actBits.length) throw new InputError('give at least one width (--act-bits 8 12)', '--act-bits');
  const settings = args.actBits.map((b) => settingsFromFlags({ actBits: b, weightBits: args.weightBits, statistic: args.statistic }));
  if (args.limit !== undefined && !(Number.isInteger(args.limit) && args.limit >= 1)) throw new InputError(`expected an integer ≥ 1, got ${args.limit}`, '--limit');
  if (!(Number.isInteger(args.batchSize) && args.batchSize >= 1)) throw new InputError(`expected an integer ≥ 1, got ${args.batchSize}`, '--batch-size');
  const store = openStore(existingDb(args), { readonly: true });
  let todo: { row: ResultRow; checkpoint: { path: string; step: number | null } }[];
  try {
    const plan = planner(args.dataDir);
    let rows: ResultRow[];
    try {
      rows = resultRows(store, args.sweep, plan);
    } catch (e) {
      if ((e as Error).message.startsWith('unknown sweep')) throw new InputError((e as Error).message, '--sweep');
      throw e;
    }
    if (args.filter) {
      const keep = new Set(listTrials(store, { sweep: args.sweep, where: args.filter, summaryKeys: [] }).map((t) => t.id));
      rows = rows.filter((r) => keep.has(r.trial));
    }
    todo = [];
    for (const row of rows) {
      const checkpoint = latestCheckpoint(store, row.trial, existsSync);
      if (checkpoint) todo.push({ row, checkpoint });
      else console.error(`orthoquant: trial ${row.trial} (${row.label}, seed ${row.seed ?? '—'}, ${row.status}) has no checkpoint file: skipped`);
    }
  } finally {
    store.close();
  }
  if (todo.length === 0) throw new InputError(`no trial of sweep '${args.sweep}' has a checkpoint to evaluate`, '--sweep');
  await initBackend(args.backend);
  const out: ResultRow[] = [];
  for (const { row, checkpoint } of todo) {
    const config = parseTrialConfig(row.config, `trial ${row.trial}`);
    const task = taskFromConfig(config.task, { trialSeed: config.seed, ...(args.dataDir ? { dataDir: args.dataDir } : {}), path: `trial ${row.trial}: task` });
    for (const s of settings) {
      const { model, step } = loadTrainedModel(config, task, checkpoint.path);
      let r;
      try {
        r = integerStage(config, task, model, { settings: s, splits: ['test'], batchSize: args.batchSize, ...(args.limit !== undefined ? { limit: args.limit } : {}) });
      } finally {
        model.dispose();
      }
      const b = row.budget;
      const statistic = s.statistic === undefined || s.statistic === 'max' ? 'max' : `p${s.statistic.percentile}`;
      out.push({
        ...row,
        label: `${row.label} a${s.actBits}`,
        config: { ...row.config, integer: { actBits: s.actBits, weightBits: s.weightBits ?? 8, statistic, checkpointStep: step, ...(args.limit !== undefined ? { limit: args.limit } : {}) } },
        budget: { ...b, steps: step, evalStep: step, evalEpochs: b.stepsPerEpoch ? Math.floor(step / b.stepsPerEpoch) : b.evalEpochs, complete: row.status === 'done' && step === b.totalSteps },
        metricsSource: 'checkpoint evaluation',
        metrics: { ...r.metrics, ...(row.metrics.memoryless_loss !== undefined ? { memoryless_loss: row.metrics.memoryless_loss } : {}) },
      });
      const m = out.at(-1)!.metrics;
      console.log(`trial ${row.trial} seed ${row.seed ?? '—'} step ${step}, a${s.actBits}: integer loss ${formatValue(m.int_test_loss)} accuracy ${formatValue(m.int_test_accuracy)} | float loss ${formatValue(m.float_ref_test_loss)} accuracy ${formatValue(m.float_ref_test_accuracy)}`);
    }
  }
  const name = `${args.sweep}-integer`;
  writeResultRows(args.out, name, out);
  printTable(
    ['trial', 'seed', 'act bits', 'step', 'int loss', 'float loss', 'int acc', 'float acc'],
    out.map((r) => [r.trial, r.seed, r.metrics.int_act_bits ?? null, r.budget.evalStep, formatValue(r.metrics.int_test_loss), formatValue(r.metrics.float_ref_test_loss), formatValue(r.metrics.int_test_accuracy), formatValue(r.metrics.float_ref_test_accuracy)]),
  );
  console.log(`wrote ${join(args.out, name, 'summary.json')} (${out.length} rows)`);
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
            .option('table', { alias: 't', type: 'array', string: true, describe: 'only these tables (configs/tables/NAME.yaml or a spec path; default: every table with a finished cell for the sweep)' })
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
              tableSpecs: (args.table?.length ? args.table.map(String) : tableNames()).map(resolveTableSpec),
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
      .command({
        command: 'integer',
        describe: "Integer-only inference of a sweep's trained models (latest checkpoints) at given activation bits, next to the float model: <out>/<sweep>-integer/",
        builder: (yy: Argv<GlobalArgs>) =>
          yy
            .option('sweep', { alias: 's', type: 'string', demandOption: true, describe: 'sweep name' })
            .option('act-bits', { type: 'array', number: true, default: [8, 12], describe: 'activation widths (each one a row per trial)' })
            .option('weight-bits', { type: 'number', describe: 'bits of weights without QAT bits of their own (default 8)' })
            .option('statistic', { type: 'string', default: 'max', describe: "calibration statistic: 'max' or a percentile such as p99.9" })
            .option('filter', { alias: 'f', type: 'string', describe: 'only these trials of the sweep (`runs list -f` grammar)' })
            .option('limit', { type: 'number', describe: 'evaluate on at most this many test sequences (default all)' })
            .option('batch-size', { type: 'number', default: 100, describe: 'sequences per calibration and evaluation batch' })
            .option('out', { alias: 'o', type: 'string', default: 'results', describe: 'results folder' })
            .option('data-dir', { type: 'string', describe: 'dataset folder (env ORTHOQUANT_DATA_DIR)' })
            .example('$0 results integer --sweep repro-copy-hadamrnn --act-bits 8 12', 'results/repro-copy-hadamrnn-integer/summary.json'),
        handler: (a: unknown) => integerResults(a as IntegerArgs),
      } as never)
      .demandCommand(1, 'name a results command: export or integer') as never,
  handler: () => undefined,
};
