/**
 * A fake trainer for scheduler tests: the `runTrial` contract of @orthoquant/train with no
 * tensors. Its behaviour comes from the trial config:
 *
 *   steps (10), stepMs (10)      how long it "trains"
 *   failAt: n                    throw at step n
 *   crashAt: n                   process.exit(3) at step n (a worker dying)
 *   crashOnceAt: n               the same, but not when resuming from a checkpoint
 *   hangAt: n, hang: 'async'     never resolve from step n, but honour the abort signal
 *   hangAt: n, hang: 'ignore'    never resolve and ignore the abort signal
 *   hangAt: n, hang: 'busy'      block the event loop (no heartbeat can be sent)
 *   checkpointEvery: n           write a small checkpoint file every n steps
 *   tearCheckpoint: true         with crashOnceAt: cut the last checkpoint short before dying
 *                                (a torn write whose artifact row survived)
 *   (resumeFrom given)           continue after the step of that checkpoint file (ck-<step>)
 *
 * Metrics per step: loss = 1/(1 + step) + seed/1000, acc = 1 − loss; an epoch event every 5
 * steps; progress reports (step budget, pace) after each step; summary { test_acc, steps }.
 *
 * With FAKE_TRAINER_LOG set, a line with the config's `id` is appended to that file each time a
 * trial runs to completion, and its journal (`<FAKE_TRAINER_LOG>.journal`) gets a line
 * `start|checkpoint|done <id>:<seed> <step>` as a trial starts (at its first step), writes a
 * checkpoint and completes: what the trainer did, whatever executor ran it (see
 * test-fixtures/contract.ts).
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunTrialOptions } from '../runner.js';

interface FakeConfig {
  id?: string | number;
  seed?: number;
  steps?: number;
  stepMs?: number;
  failAt?: number;
  crashAt?: number;
  crashOnceAt?: number;
  hangAt?: number;
  hang?: 'async' | 'ignore' | 'busy';
  checkpointEvery?: number;
  tearCheckpoint?: boolean;
}

const CHECKPOINT_TEXT = /^checkpoint at (\d+)\n$/;

/** A fake checkpoint is whole when it reads `checkpoint at N` and a newline. */
export function checkpointUsable(path: string): boolean {
  try {
    return CHECKPOINT_TEXT.test(readFileSync(path, 'utf8'));
  } catch {
    return false;
  }
}

export function parseTrialConfig(obj: unknown, where?: string): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${where ?? 'config'}: expected a mapping`);
  const c = obj as Record<string, unknown>;
  if (c.steps !== undefined && (!Number.isInteger(c.steps) || (c.steps as number) < 1)) throw new Error(`${where ?? 'config'}: steps: expected an integer ≥ 1, got ${JSON.stringify(c.steps)}`);
  return { steps: 10, stepMs: 10, ...c };
}

export function describeRuntime(): { backend: string; kernel: string } {
  return { backend: 'fake', kernel: 'none' };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

function journal(config: FakeConfig, event: 'start' | 'checkpoint' | 'done', step: number): void {
  const log = process.env.FAKE_TRAINER_LOG;
  if (log) appendFileSync(`${log}.journal`, `${event} ${String(config.id ?? '?')}:${typeof config.seed === 'number' ? config.seed : 0} ${step}\n`);
}

export async function runTrial(config: FakeConfig, opts: RunTrialOptions): Promise<Record<string, number>> {
  const steps = config.steps ?? 10;
  const seed = typeof config.seed === 'number' ? config.seed : 0;
  let start = 0;
  if (opts.resumeFrom) {
    const m = CHECKPOINT_TEXT.exec(readFileSync(opts.resumeFrom, 'utf8'));
    if (!m) throw new Error(`fake trainer: ${opts.resumeFrom} is not a whole fake checkpoint`);
    start = Number(m[1]);
  }
  opts.onEvent({ type: 'log', level: 'info', msg: `fake trainer: steps ${start}..${steps - 1}` });
  opts.progress?.start?.({ totalSteps: steps, startStep: start });
  journal(config, 'start', start);
  const t0 = Date.now();
  let lastCheckpoint: string | null = null;
  for (let step = start; step < steps; step++) {
    if (step === config.failAt) throw new Error(`fake trainer: diverged at step ${step} (loss is NaN)`);
    if (step === config.crashOnceAt && !opts.resumeFrom && config.tearCheckpoint && lastCheckpoint) writeFileSync(lastCheckpoint, 'checkpo');
    if (step === config.crashAt || (step === config.crashOnceAt && !opts.resumeFrom)) process.exit(3);
    if (step === config.hangAt) {
      if (config.hang === 'busy') for (;;) Date.now();
      if (config.hang === 'ignore') await new Promise(() => {});
      await sleep(1e9, opts.signal);
    }
    await sleep(config.stepMs ?? 10, opts.signal);
    const loss = 1 / (1 + step) + seed / 1000;
    opts.onEvent({ type: 'step', step, metrics: { loss, acc: 1 - loss } });
    opts.progress?.update({ step: step + 1, totalSteps: steps, stepsPerSecond: ((step + 1 - start) * 1000) / Math.max(1, Date.now() - t0) });
    if ((step + 1) % 5 === 0) opts.onEvent({ type: 'epoch', epoch: (step + 1) / 5, metrics: { val_acc: 1 - loss / 2 } });
    if (config.checkpointEvery && (step + 1) % config.checkpointEvery === 0) {
      mkdirSync(opts.checkpointDir, { recursive: true });
      const path = join(opts.checkpointDir, `ck-${step + 1}`);
      writeFileSync(path, `checkpoint at ${step + 1}\n`);
      lastCheckpoint = path;
      journal(config, 'checkpoint', step + 1);
      opts.onEvent({ type: 'checkpoint', path, step: step + 1 });
    }
  }
  const final = 1 / steps + seed / 1000;
  if (process.env.FAKE_TRAINER_LOG) appendFileSync(process.env.FAKE_TRAINER_LOG, `${String(config.id ?? '?')}\n`);
  journal(config, 'done', steps);
  return { test_acc: 1 - final, steps };
}
