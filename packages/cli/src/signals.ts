/**
 * How a long-running command stops: Ctrl-C (SIGINT) and SIGTERM (what `kill`, `timeout`, a
 * service manager or a batch system sends) are the same graceful stop — the first calls `stop`
 * (the command winds down and exits with its own code: 130, interrupted); a second signal of
 * either kind exits at once with 130.
 */
import { EXIT } from './exit.js';

/** What a signal is called in messages: Ctrl-C for SIGINT, else its name. */
export function signalName(signal: NodeJS.Signals): string {
  return signal === 'SIGINT' ? 'Ctrl-C' : signal;
}

/** Call `stop` at the first SIGINT or SIGTERM, exit 130 at the second; returns the function that removes the handlers. */
export function onStopSignals(stop: (signal: NodeJS.Signals) => void): () => void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) process.exit(EXIT.interrupted);
    stop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
