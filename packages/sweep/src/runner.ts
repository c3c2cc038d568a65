/**
 * The contract between the scheduler and a trainer. A worker process imports a *runner
 * module* by specifier or path (default `@orthoquant/sweep/ptq-runner`: `@orthoquant/train`'s
 * `runTrialWithPtq`, training plus the integer-only PTQ stage; `@orthoquant/train` alone also works) and calls its
 * `runTrial`; tests use the fake trainer of `@orthoquant/sweep/testing`.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '@orthoquant/runtime';
import type { PreflightTrial } from '@orthoquant/train';

export const DEFAULT_RUNNER_MODULE = '@orthoquant/sweep/ptq-runner';

export type TrialEvent =
  | { type: 'step'; step: number; metrics: Record<string, number> }
  | { type: 'epoch'; epoch: number; metrics: Record<string, number> }
  | { type: 'checkpoint'; path: string; step: number }
  /** A file the trial produced (an exported integer model): recorded as an artifact of that kind. */
  | { type: 'artifact'; kind: 'model'; path: string; step?: number }
  | { type: 'log'; level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'; msg: string };

export interface RunTrialOptions {
  onEvent: (event: TrialEvent) => void;
  /** Aborted when the sweep stops (Ctrl-C, fail-fast, coordinator gone) or the trial times out. */
  signal: AbortSignal;
  /** A folder of this trial's own (same config ⇒ same folder, so a re-run can resume). */
  checkpointDir: string;
  /** Set when an earlier attempt of this trial reported a checkpoint that still exists. */
  resumeFrom?: string;
  /**
   * Where the trial is, for progress lines and `sweep status` (the trainer calls `update` after
   * its steps with the step budget and recent pace).
   */
  progress?: {
    start?(info: { totalSteps: number; startStep: number }): void;
    update(p: { step: number; totalSteps: number; stepsPerSecond: number }): void;
  };
  /** Prefix for config error messages (`trial 12 (model.bits=2 seed=0)`). */
  where?: string;
  logger: Logger;
  /**
   * Called often during long synchronous work that blocks the event loop (each evaluation
   * batch): the worker refreshes its lease there, so a 10k-sequence evaluation at T = 784 is
   * not taken for a hung worker.
   */
  keepAlive?: () => void;
}

/** A trial to check before the sweep starts, and how to name it in the error (train's runner checks them). */
export type { PreflightTrial };

export interface TrialRunnerModule {
  runTrial(config: never, opts: RunTrialOptions): Promise<Record<string, number> | void>;
  /** Validate a config and fill defaults (used before anything is recorded, and hashed). */
  parseTrialConfig?(obj: unknown, where?: string): unknown;
  /**
   * Check trials before the sweep starts (datasets present, models buildable on their tasks);
   * resolves to every problem found (none: all can start).
   */
  preflight?(trials: PreflightTrial[], opts?: { dataDir?: string }): Promise<{ message: string; label: string }[]>;
  /**
   * Whether a checkpoint file is whole (a torn one, e.g. cut short by a crash or power loss,
   * is skipped: the trial resumes from the previous whole one). Default: the file exists.
   */
  checkpointUsable?(path: string): boolean;
  /** What the provenance record should say about the compute (after a trial ran). */
  describeRuntime?(): { backend?: string | null; kernel?: string | null } | undefined;
}

/** A path-like specifier becomes a file URL (against the cwd); a package name stays. */
export function runnerSpecifier(module: string = DEFAULT_RUNNER_MODULE): string {
  if (module.startsWith('file:')) return module;
  if (module.startsWith('.') || isAbsolute(module)) return pathToFileURL(resolve(module)).href;
  return module;
}

/** Import a runner module and check its shape, with an error naming it. */
export async function loadRunner(module: string = DEFAULT_RUNNER_MODULE): Promise<TrialRunnerModule> {
  const spec = runnerSpecifier(module);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(spec)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`cannot load the trainer module '${module}': ${(e as Error).message}`);
  }
  if (typeof mod.runTrial !== 'function') throw new Error(`trainer module '${module}' does not export a runTrial function (exports: ${Object.keys(mod).join(', ') || 'none'})`);
  if (mod.parseTrialConfig !== undefined && typeof mod.parseTrialConfig !== 'function') throw new Error(`trainer module '${module}': parseTrialConfig is not a function`);
  if (mod.checkpointUsable !== undefined && typeof mod.checkpointUsable !== 'function') throw new Error(`trainer module '${module}': checkpointUsable is not a function`);
  if (mod.preflight !== undefined && typeof mod.preflight !== 'function') throw new Error(`trainer module '${module}': preflight is not a function`);
  return mod as unknown as TrialRunnerModule;
}
