import type { CommandModule } from 'yargs';
import { trainCommand } from './train.js';
import { sweepCommand } from './sweep.js';
import { runsCommand } from './runs.js';
import { reportCommand } from './report.js';
import { exportCommand } from './export.js';
import { dashboardCommand } from './dashboard.js';
import { quantizeCommand } from './quantize.js';
import { evalCommand } from './eval.js';
import { exportCCommand } from './export-c.js';
import { workerCommand } from './worker.js';
import { resultsCommand } from './results.js';
import { reproductionCommand } from './reproduction.js';

/** Every command of `orthoquant`, in help order. */
export const commands: CommandModule<object, never>[] = [
  trainCommand,
  sweepCommand,
  workerCommand,
  runsCommand,
  reportCommand,
  resultsCommand,
  reproductionCommand,
  exportCommand,
  quantizeCommand,
  evalCommand,
  exportCCommand,
  dashboardCommand,
] as unknown as CommandModule<object, never>[];
