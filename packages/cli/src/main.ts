/**
 * `orthoquant` — the one command-line entry. Thin: it parses flags, sets up logging and the
 * tensor backend, and calls the packages. Exit codes: 0 success, 1 a run failed (a trial, a
 * training run), 2 bad input (flags, YAML, config values, files), 130 interrupted.
 */
import { run } from './cli.js';

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // run() reports its own errors; this is a last resort for bugs in the reporter itself.
    console.error(err);
    process.exitCode = 1;
  },
);
