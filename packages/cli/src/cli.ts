import yargs, { type Argv } from 'yargs';
import { isInputError, setLogger, createLogger, BACKEND_CHOICES, LOG_FORMATS, setting, rawSetting, setEnvSetting } from '@orthoquant/runtime';
import { commands } from './commands/index.js';

import { EXIT, UsageError } from './exit.js';
export { EXIT };

/** Global flags every command understands. */
export interface GlobalArgs {
  db: string;
  backend: string;
  logLevel?: string;
  logFormat?: string;
  verbose: boolean;
}

/** Build the yargs parser (exported for tests: `buildParser().parse(...)`). */
export function buildParser(argv: string[]): Argv<GlobalArgs> {
  let parser = yargs(argv)
    .scriptName('orthoquant')
    .usage('$0 <command> [options]\n\nTrain, sweep, record and report quantized orthogonal RNNs.')
    .option('db', {
      type: 'string',
      default: setting('db') ?? './orthoquant.db',
      describe: 'SQLite experiment store (env ORTHOQUANT_DB)',
      global: true,
    })
    .option('backend', {
      type: 'string',
      choices: BACKEND_CHOICES as unknown as string[],
      default: rawSetting('backend') ?? 'auto',
      describe: 'tfjs backend (env ORTHOQUANT_BACKEND)',
      global: true,
    })
    .option('log-level', {
      type: 'string',
      choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
      describe: 'terminal log level (env ORTHOQUANT_LOG_LEVEL, default info)',
      global: true,
    })
    .option('log-format', {
      type: 'string',
      choices: [...LOG_FORMATS],
      describe: 'terminal log: pretty (a terminal), text (sentences; pipes and files), json (the records, on stdout); env ORTHOQUANT_LOG_FORMAT',
      global: true,
    })
    .option('verbose', { type: 'boolean', default: false, describe: 'print stack traces on errors', global: true })
    .middleware((args) => {
      if (args.logLevel) setEnvSetting('logLevel', String(args.logLevel));
      if (args.logFormat) setEnvSetting('logFormat', String(args.logFormat));
      setLogger(createLogger({ name: 'orthoquant' }));
    })
    .demandCommand(1, 'name a command (orthoquant --help lists them)')
    .recommendCommands()
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100)) as unknown as Argv<GlobalArgs>;
  for (const c of commands) parser = parser.command(c as never);
  return parser;
}

/** Parse and run; resolves to the process exit code, never throws. */
export async function run(argv: string[]): Promise<number> {
  const parser = buildParser(argv)
    .exitProcess(false)
    .fail((msg, err) => {
      // Throwing stops yargs before any handler runs.
      throw err ?? new UsageError(msg);
    });
  try {
    const result = (await parser.parseAsync()) as { __exitCode?: number };
    return typeof result.__exitCode === 'number' ? result.__exitCode : EXIT.ok;
  } catch (err) {
    const verbose = argv.includes('--verbose');
    if (err instanceof UsageError) {
      console.error(`orthoquant: ${err.message}\n(run 'orthoquant --help' for usage)`);
      return EXIT.badInput;
    }
    if (isInputError(err)) {
      console.error(`orthoquant: ${err.message}`);
      if (verbose) console.error(err.stack);
      return EXIT.badInput;
    }
    const msg = err instanceof Error ? err.message : String(err);
    console.error(`orthoquant: ${msg}`);
    if (verbose && err instanceof Error) console.error(err.stack);
    return EXIT.failed;
  }
}
