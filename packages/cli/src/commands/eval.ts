import { existsSync, readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { InputError, parseYamlWith } from '@orthoquant/runtime';
import { partialTaskConfigSchema } from '@orthoquant/tasks';
import type { Split } from '@orthoquant/tasks';
import { evaluateInteger, readIntegerModel } from '@orthoquant/integer';
import { withExamples } from './examples.js';
import { compiledEngine } from './export-c.js';
import type { GlobalArgs } from '../cli.js';
import { printTable, fmtNumber, setExitCode, taskFromConfig } from './common.js';
import { EXIT } from '../exit.js';

interface EvalArgs extends GlobalArgs {
  modelFile: string;
  task?: string;
  taskConfig?: string;
  split: string;
  limit?: number;
  batchSize: number;
  dataDir?: string;
  json: boolean;
  engine: string;
}

/** `--task-config`: a YAML/JSON file, or inline YAML/JSON (`'{ T: 100 }'`). */
function readTaskConfig(value: string): Record<string, unknown> {
  const isFile = existsSync(value);
  const text = isFile ? readFileSync(value, 'utf8') : value;
  const where = isFile ? value : '--task-config';
  const parsed = parseYamlWith(text, where, partialTaskConfigSchema);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InputError(`expected a task config object (YAML or JSON), got ${JSON.stringify(parsed)}`, where);
  return parsed as Record<string, unknown>;
}

export const evalCommand: CommandModule<GlobalArgs, EvalArgs> = {
  command: 'eval <model-file>',
  describe: 'Evaluate an integer model file (.oqint, from `quantize` or a ptq sweep) on a task split with the integer engine',
  builder: (y) =>
    withExamples(y, 'eval')
      .positional('model-file', { type: 'string', demandOption: true, describe: 'integer model file (.oqint)' })
      .option('task', { type: 'string', describe: "task name (default: the task recorded in the file's metadata)" })
      .option('task-config', { type: 'string', describe: "task config as a YAML/JSON file or inline ('{ name: copy, T: 100 }'); default: the file's metadata" })
      .option('split', { type: 'string', choices: ['train', 'val', 'test'], default: 'test' })
      .option('limit', { type: 'number', describe: 'evaluate at most this many sequences' })
      .option('batch-size', { type: 'number', default: 100 })
      .option('data-dir', { type: 'string', describe: 'dataset folder (env ORTHOQUANT_DATA_DIR)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
      .option('engine', { type: 'string', choices: ['js', 'c'], default: 'js', describe: 'js: the JavaScript integer engine; c: the model as C (export-c) built with the system compiler ($CC or cc, -O2)' }) as never,
  handler: (args) => {
    if (args.limit !== undefined && !(Number.isInteger(args.limit) && args.limit >= 1)) throw new InputError(`expected an integer ≥ 1, got ${args.limit}`, '--limit');
    if (!(Number.isInteger(args.batchSize) && args.batchSize >= 1)) throw new InputError(`expected an integer ≥ 1, got ${args.batchSize}`, '--batch-size');
    const file = readIntegerModel(args.modelFile);
    const meta = file.metadata.task;
    const recorded = meta !== null && typeof meta === 'object' && !Array.isArray(meta) && typeof (meta as { name?: unknown }).name === 'string' ? (meta as Record<string, unknown> & { name: string }) : null;
    let config: Record<string, unknown>;
    let path: string;
    if (args.taskConfig !== undefined) {
      const given = readTaskConfig(args.taskConfig);
      if (args.task && given.name !== undefined && given.name !== args.task) throw new InputError(`names task '${String(given.name)}', but --task is '${args.task}'`, '--task-config');
      const name = args.task ?? given.name;
      if (name === undefined) throw new InputError('no task name: pass --task or a name key', '--task-config');
      config = { ...given, name };
      path = '--task-config';
    } else if (recorded) {
      if (args.task && args.task !== recorded.name) {
        throw new InputError(`the model was calibrated for task '${recorded.name}'; to evaluate it on '${args.task}' pass --task-config`, '--task');
      }
      config = recorded;
      path = `${args.modelFile}: metadata.task`;
    } else {
      throw new InputError('the file records no task config in its metadata: pass --task-config (and --task)', args.modelFile);
    }
    const task = taskFromConfig(config, { ...(args.dataDir ? { dataDir: args.dataDir } : {}), path });
    const split = args.split as Split;
    const c = args.engine === 'c' ? compiledEngine(file.model) : null;
    const r = evaluateInteger(file.model, task, split, { batchSize: args.batchSize, ...(args.limit !== undefined ? { limit: args.limit } : {}), ...(c ? { engine: c.run } : {}) });
    const engine = c ? `c (${c.command})` : 'js';
    if (args.json) {
      console.log(JSON.stringify({ file: args.modelFile, kind: file.model.kind, actBits: file.model.actBits, task: config, split, engine, ...r }, null, 2));
    } else {
      console.log(`${args.modelFile}: ${file.model.kind}, n=${file.model.n}, ${file.model.actBits}-bit activations · ${task.name} ${split} · engine ${engine}`);
      const extra = Object.keys(r.metrics).filter((k) => k !== 'loss' && k !== 'accuracy');
      printTable(
        ['split', 'loss', 'accuracy', ...extra, 'sequences', 'sequences/s'],
        [[split, fmtNumber(r.loss), fmtNumber(r.accuracy), ...extra.map((k) => fmtNumber((r.metrics as Record<string, number | undefined>)[k])), r.sequences, fmtNumber(r.sequencesPerSecond, 0)]],
      );
    }
    setExitCode(args, EXIT.ok);
  },
};
