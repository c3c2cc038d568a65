/**
 * One trial in its own process, forked by a queue worker per job: the trainer may block its
 * event loop for as long as it likes; the worker's BullMQ lock renewals never wait for it.
 * Parent → child: one `run` message, maybe a `stop`. Child → parent: `event`s, then `done`
 * or `error` or `stopped`. A closed IPC channel (worker killed) ends the process.
 */
import { backendInfo, createLogger } from '@orthoquant/runtime';
import { loadRunner, type TrialEvent } from '../runner.js';
import { paceReporter } from '../trial-events.js';

export type ChildIn =
  | { type: 'run'; config: Record<string, unknown>; runnerModule: string; checkpointDir: string; resumeFrom: string | null; where: string; logFile: string | null }
  | { type: 'stop'; reason: string };

export type ChildOut =
  | { type: 'event'; event: TrialEvent }
  /** Where the trial is: its step budget and recent pace (the trainer's progress reports). */
  | { type: 'progress'; step: number; totalSteps: number; stepsPerSecond: number | null }
  | { type: 'done'; summary: Record<string, number>; backend: string | null; kernel: string | null }
  | { type: 'error'; error: string }
  | { type: 'stopped' };

class Stop extends Error {
  constructor(reason: string) {
    super(`stopped: ${reason}`);
    this.name = 'Stop';
  }
}

function send(m: ChildOut): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

const ac = new AbortController();
let running = false;
const stop = (reason: string) => (running ? ac.abort(new Stop(reason)) : process.exit(0));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

process.on('message', (m: ChildIn) => {
  if (m.type === 'stop') stop(m.reason);
  else if (m.type === 'run' && !running) {
    running = true;
    void run(m);
  }
});

async function run(m: Extract<ChildIn, { type: 'run' }>): Promise<void> {
  const log = createLogger({ name: 'queue-trial', quiet: true, ...(m.logFile ? { file: m.logFile } : {}) }).child({ pid: process.pid });
  let out: ChildOut;
  try {
    const runner = await loadRunner(m.runnerModule);
    const config = runner.parseTrialConfig ? runner.parseTrialConfig(m.config, m.where) : m.config;
    const summary = await runner.runTrial(config as never, {
      onEvent: (event) => void send({ type: 'event', event }),
      progress: paceReporter((p) => void send({ type: 'progress', ...p })),
      signal: ac.signal,
      checkpointDir: m.checkpointDir,
      ...(m.resumeFrom ? { resumeFrom: m.resumeFrom } : {}),
      where: m.where,
      logger: log,
    });
    if (summary !== undefined && (summary === null || typeof summary !== 'object')) throw new Error(`runTrial resolved with ${JSON.stringify(summary)}, expected a summary object of numbers`);
    const rt = runner.describeRuntime?.() ?? {};
    out = { type: 'done', summary: summary ?? {}, backend: rt.backend ?? backendInfo()?.choice ?? null, kernel: rt.kernel ?? null };
  } catch (e) {
    const reason: unknown = ac.signal.aborted ? ac.signal.reason : null;
    if (reason instanceof Stop) out = { type: 'stopped' };
    else out = { type: 'error', error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
  await send(out);
  process.disconnect?.();
  setTimeout(() => process.exit(0), 50).unref();
}
