/**
 * @orthoquant/store — the experiment store: every sweep, trial, per-step metric, summary,
 * artifact and provenance record in one SQLite file (drizzle schema, checked-in migrations),
 * shared safely by several processes (WAL, busy timeout, fenced leases).
 */
export { openStore, resolveDbPath, Store, DEFAULT_DB_FILE, MIGRATIONS_FOLDER, storeError, isStoreFault } from './open.js';
export type { OpenStoreOptions, StoreDb } from './open.js';
export * as tables from './schema.js';
export { TRIAL_STATUSES, TRIAL_MODES, ARTIFACT_KINDS } from './schema.js';
export type { TrialStatus, TrialMode, ArtifactKind } from './schema.js';
export {
  getSweep,
  sweepTrialHashes,
  registerSweep,
  requeueFailed,
  claimTrial,
  claimTrialById,
  leaseState,
  heldLease,
  sweepMembers,
  requeueFailedTrial,
  heartbeat,
  recordMetrics,
  recordProgress,
  recordArtifact,
  dropArtifacts,
  checkpointBytes,
  latestCheckpoint,
  checkpoints,
  recordProvenance,
  metricDirection,
  computeSummary,
  finishTrial,
  failTrial,
  releaseTrial,
  runningTrials,
  requeueStale,
  findStale,
  abandonTrial,
  pidAlive,
  trialStatus,
} from './trials.js';
export type {
  TrialInput,
  SweepInput,
  SweepRow,
  RegisterResult,
  Lease,
  ClaimedTrial,
  ClaimOptions,
  MetricPoint,
  TrialProgress,
  ArtifactInput,
  ProvenanceInput,
  SummaryValue,
  RunningTrial,
  StaleOptions,
  RequeuedTrial,
  LeaseState,
  SweepMember,
} from './trials.js';
export { parseFilter, compileFilter, comparisonSql, jsonPath, FilterError } from './filter.js';
export type { FilterComparison, FilterField, FilterOp, FilterValue } from './filter.js';
export { sweepStatus, listSweeps, listTrials, getTrial, metricCurves, statusTotals, countTrials, summaryKeys, metricKeyPoints, trialConfigs } from './queries.js';
export type { StatusCounts, SweepStatus, SweepStatusOptions, SweepListRow, TrialRow, ListTrialsOptions, TrialDetail, MetricCurve } from './queries.js';
