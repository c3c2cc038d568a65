import type { CommandModule } from 'yargs';
import { serveDashboard, DEFAULT_PORT } from '@orthoquant/dashboard';
import type { GlobalArgs } from '../cli.js';
import { existingDb } from './common.js';
import { TABLES_DIR } from './tables.js';

interface DashboardArgs extends GlobalArgs {
  port: number;
}

export const dashboardCommand: CommandModule<GlobalArgs, DashboardArgs> = {
  command: 'dashboard',
  describe: 'Serve the results dashboard on 127.0.0.1 (read-only over the store)',
  builder: (y) => y.option('port', { alias: 'p', type: 'number', default: DEFAULT_PORT, describe: 'port (0: any free port)' }) as never,
  handler: (args) => serveDashboard({ dbPath: existingDb(args), port: args.port, host: '127.0.0.1', tablesDir: TABLES_DIR }),
};
