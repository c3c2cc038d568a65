import { writeFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { renderTable, TABLE_FORMATS, type TableFormat } from '@orthoquant/reporter';
import type { GlobalArgs } from '../cli.js';
import { existingDb } from './common.js';
import { tableFromDb, tableNames, TABLES_DIR } from './tables.js';

interface ReportArgs extends GlobalArgs {
  table?: string;
  format: TableFormat;
  out?: string;
  sweep?: string;
  list: boolean;
}

export const reportCommand: CommandModule<GlobalArgs, ReportArgs> = {
  command: 'report',
  describe: 'Regenerate a paper table from the store (configs/tables/NAME.yaml)',
  builder: (y) =>
    y
      .option('table', { alias: 't', type: 'string', describe: 'table name or spec path' })
      .option('format', { type: 'string', choices: [...TABLE_FORMATS], default: 'md' as TableFormat })
      .option('out', { alias: 'o', type: 'string', describe: 'write to this file instead of stdout' })
      .option('sweep', { type: 'string', describe: 'only trials of this sweep' })
      .option('list', { type: 'boolean', default: false, describe: 'list the available tables' })
      .check((a) => {
        if (!a.list && !a.table) throw new Error('--table is required (or --list)');
        return true;
      }) as never,
  handler: (args) => {
    if (args.list) {
      for (const n of tableNames()) console.log(n);
      console.log(`(${TABLES_DIR})`);
      return;
    }
    const text = renderTable(tableFromDb(existingDb(args), args.table!, { sweep: args.sweep }), args.format);
    if (args.out) {
      writeFileSync(args.out, text);
      console.error(`wrote ${args.out}`);
    } else process.stdout.write(text);
  },
};
