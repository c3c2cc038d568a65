/**
 * What a trainer reports, as the store records it — one rule for every executor (the local
 * worker, the queue worker, the Slurm task), whatever carries the result afterwards:
 *
 * - a `step` event: one metric point per metric at its step;
 * - an `epoch` event: its metrics and the epoch itself (`epoch`) at the last step seen — a trial
 *   resumed at an epoch's end reports that epoch before any step: at its `steps` metric, else at
 *   the epoch number;
 * - a `checkpoint` or `artifact` event: an artifact with its step, passed on after every point
 *   before it (a trial resumed from a checkpoint never misses the steps before it);
 * - a `log` event: a line of the executor's logger at the trainer's level;
 * - progress reports (`RunTrialOptions.progress`): the step, the step budget and the recent pace
 *   (a pace that is not a positive finite number is unknown: null).
 */
import type { Logger } from '@orthoquant/runtime';
import type { ArtifactInput, MetricPoint, TrialProgress } from '@orthoquant/store';
import type { RunTrialOptions, TrialEvent } from './runner.js';

/** Where an executor puts what `trialEventHandler` makes of the trainer's events. */
export interface TrialEventSink {
  /** The metric points of one step or epoch event, in the trainer's order. */
  points(points: MetricPoint[]): void;
  /** After a step's points: the step and its metrics (for progress lines). */
  step?(step: number, metrics: Record<string, number>): void;
  /** A checkpoint or another file the trial wrote; every point before it went to `points` first. */
  artifact(a: ArtifactInput): void;
}

/** The handler of a trainer's events (`RunTrialOptions.onEvent`) and the last step it saw (null before the first). */
export interface TrialEventHandler {
  onEvent(e: TrialEvent): void;
  readonly lastStep: number | null;
}

/** Turn a trainer's events into metric points and artifacts for `sink`, its log lines into `log`'s. */
export function trialEventHandler(sink: TrialEventSink, log: Logger): TrialEventHandler {
  let lastStep: number | null = null;
  const pointsOf = (step: number, metrics: Record<string, number>): MetricPoint[] => Object.entries(metrics).map(([key, value]) => ({ key, step, value }));
  return {
    get lastStep() {
      return lastStep;
    },
    onEvent(e) {
      switch (e.type) {
        case 'step':
          lastStep = lastStep === null ? e.step : Math.max(lastStep, e.step);
          sink.points(pointsOf(e.step, e.metrics));
          sink.step?.(e.step, e.metrics);
          break;
        case 'epoch': {
          const step = lastStep ?? (typeof e.metrics.steps === 'number' ? e.metrics.steps : e.epoch);
          sink.points(pointsOf(step, { ...e.metrics, epoch: e.epoch }));
          break;
        }
        case 'checkpoint':
        case 'artifact':
          sink.artifact({ kind: e.type === 'checkpoint' ? 'checkpoint' : e.kind, path: e.path, step: e.step ?? null });
          break;
        case 'log':
          (log[e.level] ?? log.info).call(log, e.msg);
          break;
      }
    },
  };
}

/** The trainer's progress reports (`RunTrialOptions.progress`) as `TrialProgress` values for `onPace`. */
export function paceReporter(onPace: (p: TrialProgress & { totalSteps: number }) => void): NonNullable<RunTrialOptions['progress']> {
  return {
    start: ({ totalSteps, startStep }) => onPace({ step: startStep, totalSteps, stepsPerSecond: null }),
    update: (p) => onPace({ step: p.step, totalSteps: p.totalSteps, stepsPerSecond: Number.isFinite(p.stepsPerSecond) && p.stepsPerSecond > 0 ? p.stepsPerSecond : null }),
  };
}
