/**
 * Logging through pino: JSON lines to a file (one per sweep or run), pretty on a terminal.
 * Terminal level from `ORTHOQUANT_LOG_LEVEL` (default `info`; tests run with `warn`); the
 * file, when there is one, always gets `debug` and above.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Component name, shown in every line (`sweep`, `train`, `runtime`). */
  name?: string;
  /** Terminal level. */
  level?: LevelWithSilent;
  /** Also write JSON lines (debug and above) to this file, creating its folder. */
  file?: string;
  /** Pretty-print to stderr. Default: stderr is a TTY. */
  pretty?: boolean;
  /** Write nothing to the terminal (still to `file`, when given). */
  quiet?: boolean;
}

const ORDER: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function envLogLevel(): LevelWithSilent {
  const v = process.env.ORTHOQUANT_LOG_LEVEL;
  if (v === undefined || v === '') return 'info';
  if (!(ORDER as readonly string[]).includes(v)) {
    throw new Error(`ORTHOQUANT_LOG_LEVEL: expected one of ${ORDER.join(', ')}, got '${v}'`);
  }
  return v as LevelWithSilent;
}

/** A pino logger; terminal output goes to stderr so that stdout stays for results. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? envLogLevel();
  const streams: pino.StreamEntry[] = [];
  if (!opts.quiet && level !== 'silent') {
    const pretty = opts.pretty ?? Boolean(process.stderr.isTTY);
    streams.push({ level, stream: pretty ? prettyStream() : pino.destination({ fd: 2, sync: true }) });
  }
  if (opts.file) {
    mkdirSync(dirname(opts.file), { recursive: true });
    streams.push({ level: 'debug', stream: pino.destination({ dest: opts.file, sync: true }) });
  }
  if (streams.length === 0) return pino({ name: opts.name ?? 'orthoquant', level: 'silent' });
  const lowest = streams.map((s) => s.level as LevelWithSilent).sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b))[0];
  return pino({ name: opts.name ?? 'orthoquant', level: lowest }, pino.multistream(streams));
}

type PrettyFactory = (o: object) => NodeJS.WritableStream;
let prettyFactory: PrettyFactory | null = null;
function prettyStream(): NodeJS.WritableStream {
  if (!prettyFactory) {
    // pino-pretty as a stream in this thread (no worker to outlive short commands), loaded
    // lazily so JSON-only processes never pay for it.
    const mod = createRequire(import.meta.url)('pino-pretty') as PrettyFactory & { default?: PrettyFactory };
    prettyFactory = mod.default ?? mod;
  }
  return prettyFactory({ colorize: true, destination: 2, sync: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' });
}

let shared: Logger | null = null;
/** The process-wide default logger (lazily created). */
export function log(): Logger {
  if (!shared) shared = createLogger({ name: 'orthoquant' });
  return shared;
}
/** Replace the process-wide logger (the CLI does this once it knows the log file). */
export function setLogger(logger: Logger): void {
  shared = logger;
}
