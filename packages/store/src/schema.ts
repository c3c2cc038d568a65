/**
 * The experiment store's schema (drizzle, SQLite). Migrations in `../drizzle/` are generated
 * from this file with `npx drizzle-kit generate` (run in packages/store) and checked in.
 *
 * Identity of a trial: its canonical config hash, unique across the whole database. The same
 * resolved config reached from two sweeps is ONE trial, linked to both through
 * `sweep_trials`; that is Guild's `--needed`: a config already done is never run again, and
 * its metrics are never recorded twice. `trials.origin_sweep_id` names the sweep that first
 * created it (null for a trial recorded outside any sweep).
 *
 * Times are integer milliseconds since the Unix epoch.
 */
import { sql } from 'drizzle-orm';
import { sqliteTable, integer, text, real, index, uniqueIndex, primaryKey, check } from 'drizzle-orm/sqlite-core';

export const TRIAL_STATUSES = ['pending', 'running', 'done', 'failed'] as const;
export type TrialStatus = (typeof TRIAL_STATUSES)[number];
export const TRIAL_MODES = ['qat', 'ptq'] as const;
export type TrialMode = (typeof TRIAL_MODES)[number];
export const ARTIFACT_KINDS = ['checkpoint', 'log', 'model'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export const sweeps = sqliteTable('sweeps', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  /** The sweep file as written (YAML text), for provenance and `sweep show`. */
  spec: text('spec').notNull(),
  /** Where it was read from, as given (may be null for inline specs). */
  specPath: text('spec_path'),
  /** sha256 over the sorted trial hashes: changes exactly when the trial set changes. */
  fingerprint: text('fingerprint').notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const trials = sqliteTable(
  'trials',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    originSweepId: integer('origin_sweep_id').references(() => sweeps.id, { onDelete: 'set null' }),
    /** The resolved trial config, canonical JSON (sorted keys). */
    config: text('config').notNull(),
    /** sha256 (hex) of `config`. */
    configHash: text('config_hash').notNull(),
    mode: text('mode', { enum: TRIAL_MODES }).notNull().default('qat'),
    status: text('status', { enum: TRIAL_STATUSES }).notNull().default('pending'),
    /** How many times a worker has claimed it (the claim's fencing token). */
    attempts: integer('attempts').notNull().default(0),
    workerId: text('worker_id'),
    workerPid: integer('worker_pid'),
    workerHost: text('worker_host'),
    heartbeatAt: integer('heartbeat_at'),
    createdAt: integer('created_at').notNull(),
    startedAt: integer('started_at'),
    finishedAt: integer('finished_at'),
    error: text('error'),
    /** Where a running trial is: its step, its step budget and its recent pace (steps/s), from its worker. */
    progressStep: integer('progress_step'),
    progressTotal: integer('progress_total'),
    progressRate: real('progress_rate'),
  },
  (t) => [
    uniqueIndex('trials_config_hash_unique').on(t.configHash),
    index('trials_status_idx').on(t.status),
    check('trials_status_check', sql`${t.status} in ('pending', 'running', 'done', 'failed')`),
    check('trials_mode_check', sql`${t.mode} in ('qat', 'ptq')`),
  ],
);

/** Which sweeps a trial belongs to, and its place in each sweep's expansion order. */
export const sweepTrials = sqliteTable(
  'sweep_trials',
  {
    sweepId: integer('sweep_id')
      .notNull()
      .references(() => sweeps.id, { onDelete: 'cascade' }),
    trialId: integer('trial_id')
      .notNull()
      .references(() => trials.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    /**
     * False once a forced re-definition of the sweep dropped this config: the trial and its
     * numbers stay (nothing recorded is lost) but the sweep no longer runs or counts it.
     */
    active: integer('active', { mode: 'boolean' }).notNull().default(true),
  },
  (t) => [primaryKey({ columns: [t.sweepId, t.trialId] }), index('sweep_trials_trial_idx').on(t.trialId), index('sweep_trials_position_idx').on(t.sweepId, t.position)],
);

/** Per-step metrics. A replayed step overwrites its value: never a duplicate row. */
export const metrics = sqliteTable(
  'metrics',
  {
    trialId: integer('trial_id')
      .notNull()
      .references(() => trials.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    step: integer('step').notNull(),
    /** NULL when the trainer reported NaN (SQLite has no NaN). */
    value: real('value'),
  },
  (t) => [uniqueIndex('metrics_trial_key_step_unique').on(t.trialId, t.key, t.step)],
);

/** Final and best value per metric: what lists, tables and dashboards read. */
export const summary = sqliteTable(
  'summary',
  {
    trialId: integer('trial_id')
      .notNull()
      .references(() => trials.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    final: real('final'),
    best: real('best'),
    bestStep: integer('best_step'),
    /** Number of per-step points behind `best` (0 when the value only came from the summary). */
    n: integer('n').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.trialId, t.key] }), index('summary_key_idx').on(t.key, t.final)],
);

export const artifacts = sqliteTable(
  'artifacts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    trialId: integer('trial_id')
      .notNull()
      .references(() => trials.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ARTIFACT_KINDS }).notNull(),
    path: text('path').notNull(),
    bytes: integer('bytes'),
    step: integer('step'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('artifacts_trial_path_unique').on(t.trialId, t.path), check('artifacts_kind_check', sql`${t.kind} in ('checkpoint', 'log', 'model')`)],
);

/** Where a trial's numbers came from (the attempt that finished it, or the latest one). */
export const provenance = sqliteTable('provenance', {
  trialId: integer('trial_id')
    .primaryKey()
    .references(() => trials.id, { onDelete: 'cascade' }),
  packageVersion: text('package_version'),
  gitCommit: text('git_commit'),
  gitDirty: integer('git_dirty', { mode: 'boolean' }),
  backend: text('backend'),
  kernel: text('kernel'),
  nodeVersion: text('node_version'),
  host: text('host'),
  attempt: integer('attempt'),
  recordedAt: integer('recorded_at').notNull(),
});

export const schema = { sweeps, trials, sweepTrials, metrics, summary, artifacts, provenance };
