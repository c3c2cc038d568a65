/**
 * Logging through pino: JSON lines to a file (one per sweep or run); on the terminal, lines
 * that read as sentences (coloured on a TTY, plain `HH:MM:SS message` on a pipe or in a
 * file), or the JSON records on stdout when asked (`ORTHOQUANT_LOG_FORMAT=json`, the CLI's
 * `--log-format json`). Terminal level from `ORTHOQUANT_LOG_LEVEL` (default `info`; tests
 * run with `warn`); the file, when there is one, always gets `debug` and above.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { createRequire } from 'node:module';
import { mkdirSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { LOG_FORMATS, LOG_LEVELS, setting, type LogFormat } from './settings.js';

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
  /**
   * Terminal format: `pretty` (coloured, stderr), `text` (plain sentences, stderr), `json`
   * (the records, stdout). Default: `ORTHOQUANT_LOG_FORMAT`, else pretty on a TTY, text otherwise.
   */
  format?: LogFormat;
  /** Write nothing to the terminal (still to `file`, when given). */
  quiet?: boolean;
}

const ORDER: readonly LevelWithSilent[] = LOG_LEVELS;

export { LOG_FORMATS };
export type { LogFormat };

/** `ORTHOQUANT_LOG_FORMAT`, or undefined when unset. */
export function envLogFormat(): LogFormat | undefined {
  return setting('logFormat');
}

/** `ORTHOQUANT_LOG_LEVEL` (default `info`). */
export function envLogLevel(): LevelWithSilent {
  return setting('logLevel');
}

/** A pino logger; terminal output goes to stderr so that stdout stays for results. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? envLogLevel();
  const streams: pino.StreamEntry[] = [];
  if (!opts.quiet && level !== 'silent') {
    const format = opts.format ?? (opts.pretty !== undefined ? (opts.pretty ? 'pretty' : 'text') : (envLogFormat() ?? (process.stderr.isTTY ? 'pretty' : 'text')));
    const stream = format === 'pretty' ? prettyStream() : format === 'json' ? pino.destination({ fd: 1, sync: true }) : textStream(2);
    streams.push({ level, stream });
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

const LEVEL_WORDS: Record<number, string> = { 10: 'trace: ', 20: 'debug: ', 30: '', 40: 'warning: ', 50: 'error: ', 60: 'fatal: ' };

/** One pino record as a line of text: `HH:MM:SS [warning: ]message[: first line of err]`. */
export function formatLogLine(record: Record<string, unknown>): string {
  const t = typeof record.time === 'number' ? new Date(record.time) : new Date();
  const hhmmss = [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  const msg = typeof record.msg === 'string' ? record.msg : '';
  const err = record.err;
  const errText = typeof err === 'string' ? err : err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string' ? (err as { message: string }).message : '';
  const firstErr = errText.split('\n')[0]!.trim();
  const tail = firstErr && !msg.includes(firstErr) ? `${msg ? ': ' : ''}${firstErr}` : '';
  return `${hhmmss} ${LEVEL_WORDS[record.level as number] ?? ''}${msg}${tail}`;
}

/** pino's JSON lines in, sentences out (synchronously, to a file descriptor). */
function textStream(fd: number): Writable {
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        let out: string;
        try {
          out = formatLogLine(JSON.parse(line) as Record<string, unknown>);
        } catch {
          out = line;
        }
        try {
          writeSync(fd, out + '\n');
        } catch {
          // a closed terminal or pipe: logging must never take the process down
        }
      }
      done();
    },
  });
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
