/**
 * The default runner module of sweeps (`@orthoquant/sweep/ptq-runner`): the runner contract of
 * `runner.ts` over `@orthoquant/train`'s `runTrialWithPtq` (training, then the integer-only PTQ
 * stage when the config's `ptq:` block asks for it). Running a trial is train's; the sweep only
 * orchestrates.
 */
import { runTrialWithPtq, parseTrialConfig, checkpointValid, preflightTrials as preflight } from '@orthoquant/train';
import type { RunTrialOptions } from './runner.js';

export { parseTrialConfig, preflight };

/** A checkpoint is used for a resume only when whole (its checksum holds). */
export function checkpointUsable(path: string): boolean {
  return checkpointValid(path);
}

/** The runner contract of `runner.ts`: train, then the integer stage when the config asks for it. */
export async function runTrial(config: unknown, opts: RunTrialOptions): Promise<Record<string, number>> {
  return runTrialWithPtq(config, opts);
}
