import { writeFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { InputError } from '@orthoquant/runtime';
import { openStore, listTrials, listSweeps } from '@orthoquant/store';
import { renderTable, TABLE_FORMATS, type TableFormat } from '@orthoquant/reporter';
import { scatterSvg, curvesSvg } from '@orthoquant/dashboard';
import { withExamples } from './examples.js';
import type { GlobalArgs } from '../cli.js';
import { existingDb } from './common.js';
import { UsageError } from '../exit.js';
import { tableFromDb, tableNames, TABLES_DIR } from './tables.js';

const PLOTS = ['size-accuracy', 'curves'] as const;

interface ReportArgs extends GlobalArgs {
  table?: string;
  plot?: (typeof PLOTS)[number];
  format: TableFormat | 'svg';
  out?: string;
  sweep?: string;
  filter?: string;
  metric?: string;
  runs?: string;
  baseline?: number;
  logY?: boolean;
  list: boolean;
}

/** `--plot`: an SVG figure from the store (HadamRNN's Figure 1 plane, learning curves). */
function plotSvg(args: ReportArgs): string {
  const store = openStore(existingDb(args), { readonly: true });
  try {
    if (args.plot === 'size-accuracy') {
      const where = [args.filter, args.sweep ? `sweep = '${args.sweep.replaceAll("'", "''")}'` : ''].filter(Boolean).join(' and ') || undefined;
      return scatterSvg(store, { where, metric: args.metric });
    }
    let ids: number[];
    if (args.runs) {
      ids = args.runs.split(',').map((s) => Number(s.trim()));
      const bad = args.runs.split(',').find((s) => !/^\s*\d+\s*$/.test(s));
      if (bad !== undefined) throw new InputError(`expected trial ids separated by commas, got '${bad}'`, '--runs');
    } else {
      ids = listTrials(store, { where: [args.filter, 'status = done'].filter(Boolean).join(' and '), sweep: args.sweep, limit: 64 }).map((r) => r.id);
    }
    if (ids.length === 0) throw new InputError('no trials to plot (give --runs or a --filter that matches done trials)', '--plot curves');
    return curvesSvg(store, ids, args.metric, args.baseline === undefined ? undefined : { value: args.baseline, label: 'baseline' }, args.logY === undefined ? {} : { logY: args.logY });
  } finally {
    store.close();
  }
}

export const reportCommand: CommandModule<GlobalArgs, ReportArgs> = {
  command: 'report',
  describe: 'Regenerate a paper table (configs/tables/NAME.yaml) or draw a figure from the store',
  builder: (y) =>
    withExamples(y, 'report')
      .option('table', { alias: 't', type: 'string', describe: 'table name or spec path' })
      .option('plot', { type: 'string', choices: [...PLOTS], describe: 'an SVG figure instead of a table' })
      .option('format', { type: 'string', choices: [...TABLE_FORMATS, 'svg'], default: 'md', describe: 'table format (svg: with --plot)' })
      .option('out', { alias: 'o', type: 'string', describe: 'write to this file instead of stdout' })
      .option('sweep', { type: 'string', describe: 'only trials of this sweep' })
      .option('filter', { alias: 'f', type: 'string', describe: '--plot: which trials (same grammar as `runs list`)' })
      .option('metric', { type: 'string', describe: '--plot: summary key (size-accuracy, default test_accuracy) or curve key (curves)' })
      .option('runs', { type: 'string', describe: '--plot curves: trial ids, comma-separated' })
      .option('baseline', { type: 'number', describe: '--plot curves: a horizontal reference line (e.g. the copy task memoryless loss)' })
      .option('log-y', { type: 'boolean', describe: '--plot curves: log y axis (default: on for losses, bpc and perplexity; --no-log-y for linear)' })
      .option('list', { type: 'boolean', default: false, describe: 'list the available tables' })
      .check((a) => {
        if (a.table && a.plot) throw new UsageError('--table and --plot go separately');
        if (a.table && a.format === 'svg') throw new UsageError('--format svg goes with --plot (tables: md, csv, latex)');
        return true;
      }) as never,
  handler: (args) => {
    const listTables = () => {
      for (const n of tableNames()) console.log(n);
      console.log(`(${TABLES_DIR})`);
    };
    if (args.list) return listTables();
    let table = args.table;
    let sweep = args.sweep;
    if (!table && !args.plot) {
      // no --table: the table of the store's one sweep (same name), else the list of tables
      const store = openStore(existingDb(args), { readonly: true });
      let sweeps: string[];
      try {
        sweeps = listSweeps(store).map((s) => s.name);
      } finally {
        store.close();
      }
      const only = sweep ?? (sweeps.length === 1 ? sweeps[0] : undefined);
      if (only === undefined || !tableNames().includes(only)) {
        const why = only !== undefined ? `no table named after sweep '${only}'` : sweeps.length ? `${sweeps.length} sweeps in ${args.db} (${sweeps.join(', ')})` : `no sweep in ${args.db}`;
        console.error(`orthoquant report: ${why}; pick a table with --table NAME:`);
        return listTables();
      }
      table = only;
      sweep = only;
      console.error(`orthoquant report: table '${table}' (the store's sweep '${only}')`);
    }
    const text = args.plot ? plotSvg(args) : renderTable(tableFromDb(existingDb(args), table!, { sweep }), args.format as TableFormat);
    if (args.out) {
      writeFileSync(args.out, text);
      console.error(`wrote ${args.out}`);
    } else process.stdout.write(text);
  },
};
