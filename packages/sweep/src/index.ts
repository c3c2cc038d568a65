/**
 * @orthoquant/sweep — YAML sweeps: grammar, expansion, canonical config hash, and the
 * scheduler that runs trials in worker processes and records them in the store.
 */
export { parseSweepText, loadSweepFile, SweepSpecError, DISTRIBUTIONS, keyPathText, deepMerge } from './spec.js';
export type { SweepSpec, ParameterSpec, Distribution, SpecIssue, ParseSweepOptions, KeyPath } from './spec.js';
export { expandSweep } from './expand.js';
export type { ExpandedTrial, Expansion, ExpandOptions, ConfigResolver, TrialMode } from './expand.js';
export { canonicalJson, configHash, sha256, trialSetFingerprint } from './canonical.js';
export { runSweep, sweepStatus, SweepChangedError } from './scheduler.js';
export type { RunSweepOptions } from './scheduler.js';
export { trialEtaMs, sweepEtaMs, prepareSweep, loadSweepSpec, SweepSession } from './session.js';
export type { SweepResult, SweepProgress, RunningTrialProgress, PrepareSweepOptions, PreparedSweep, SessionOptions } from './session.js';
export { loadRunner, runnerSpecifier, DEFAULT_RUNNER_MODULE } from './runner.js';
export type { TrialEvent, RunTrialOptions, TrialRunnerModule, PreflightTrial } from './runner.js';
export { preflightSweep, preflightMessage } from './preflight.js';
export { describeTrialSetChange } from './diff.js';
export { runQueueSweep, enqueueSweep, claimTrialFor } from './queue/coordinator.js';
export type { QueueSweepOptions, EnqueueResult } from './queue/coordinator.js';
export { startQueueWorker } from './queue/queue-worker.js';
export type { QueueWorkerOptions, QueueWorker } from './queue/queue-worker.js';
export { parseRedisUrl, DEFAULT_QUEUE_NAME } from './queue/protocol.js';
export type { TrialJobData, TrialProgress, TrialResult, RedisConnection } from './queue/protocol.js';
export { exportSlurm, runSlurmTask, ingestSlurm } from './queue/slurm.js';
export type { ExportSlurmOptions, ExportSlurmResult, SlurmTaskOptions, IngestSlurmResult, SlurmManifest, SlurmTrialFile } from './queue/slurm.js';
