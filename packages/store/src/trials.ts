/**
 * Writing side of the store: sweep registration, atomic claims, leases, metric streams,
 * summaries.
 *
 * A claim hands a worker a *lease* `(trialId, attempt, workerId)`: `attempts` is bumped by
 * every claim, so it doubles as a fencing token. Every later write for that trial (metrics,
 * heartbeat, artifacts, finish, fail, release) checks the lease inside its transaction and
 * does nothing (returns false) once the trial has been re-queued and claimed by someone else.
 * A worker that was presumed dead and comes back can therefore never record a second result.
 */
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { and, eq, inArray } from 'drizzle-orm';
import type { Store } from './open.js';
import { sweeps, sweepTrials, trials, summary, artifacts, provenance, type ArtifactKind, type TrialMode, type TrialStatus, TRIAL_MODES } from './schema.js';

export interface TrialInput {
  /** The resolved config (plain JSON data). */
  config: Record<string, unknown>;
  /** Its canonical JSON text (stored as is). */
  configJson: string;
  /** sha256 of `configJson`. */
  hash: string;
  mode: TrialMode;
}

export interface SweepInput {
  name: string;
  spec: string;
  specPath?: string | null;
  fingerprint: string;
  /** In expansion order. */
  trials: TrialInput[];
}

export interface SweepRow {
  id: number;
  name: string;
  spec: string;
  specPath: string | null;
  fingerprint: string;
  createdAt: number;
  updatedAt: number;
}

export interface RegisterResult {
  sweep: SweepRow;
  created: boolean;
  /** Trials created by this call. */
  inserted: number;
  /** Existing trials (from this or another sweep) linked to the sweep, e.g. already done. */
  reused: number;
  /** Members no longer in the spec: retired (kept, not run) or, if never started, dropped. */
  retired: number;
}

export function getSweep(store: Store, name: string): SweepRow | null {
  return store.db.select().from(sweeps).where(eq(sweeps.name, name)).get() ?? null;
}

/** Hashes of the sweep's active trials, in expansion order. */
export function sweepTrialHashes(store: Store, sweepId: number): string[] {
  return store.db
    .select({ hash: trials.configHash })
    .from(sweepTrials)
    .innerJoin(trials, eq(trials.id, sweepTrials.trialId))
    .where(and(eq(sweepTrials.sweepId, sweepId), eq(sweepTrials.active, true)))
    .orderBy(sweepTrials.position)
    .all()
    .map((r) => r.hash);
}

/**
 * Create or re-define a sweep and its trial set, in one transaction.
 * - A config whose hash is already in the database (any sweep, any status) is linked, not
 *   duplicated.
 * - Members missing from `input.trials` are retired (`active = 0`); a retired member that
 *   never started and belongs to no other sweep is deleted (it holds no data).
 * The caller decides whether re-defining is allowed (see sweep's fingerprint check).
 */
export function registerSweep(store: Store, input: SweepInput): RegisterResult {
  for (const t of input.trials) {
    if (!(TRIAL_MODES as readonly string[]).includes(t.mode)) throw new Error(`registerSweep: trial ${t.hash.slice(0, 12)}: mode must be qat or ptq, got '${t.mode}'`);
  }
  return store.write(() => {
    const now = Date.now();
    let sweep = getSweep(store, input.name);
    const created = sweep === null;
    if (sweep === null) {
      sweep = store.db
        .insert(sweeps)
        .values({ name: input.name, spec: input.spec, specPath: input.specPath ?? null, fingerprint: input.fingerprint, createdAt: now, updatedAt: now })
        .returning()
        .get();
    } else {
      sweep = store.db
        .update(sweeps)
        .set({ spec: input.spec, specPath: input.specPath ?? null, fingerprint: input.fingerprint, updatedAt: now })
        .where(eq(sweeps.id, sweep.id))
        .returning()
        .get();
    }
    const sweepId = sweep.id;
    const findTrial = store.sqlite.prepare<[string], { id: number }>(`SELECT id FROM trials WHERE config_hash = ?`);
    const insertTrial = store.sqlite.prepare(`INSERT INTO trials (origin_sweep_id, config, config_hash, mode, status, attempts, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?)`);
    const link = store.sqlite.prepare(
      `INSERT INTO sweep_trials (sweep_id, trial_id, position, active) VALUES (?, ?, ?, 1)
       ON CONFLICT (sweep_id, trial_id) DO UPDATE SET position = excluded.position, active = 1`,
    );
    let inserted = 0;
    let reused = 0;
    const keep = new Set<number>();
    input.trials.forEach((t, position) => {
      let id = findTrial.get(t.hash)?.id;
      if (id === undefined) {
        id = Number(insertTrial.run(sweepId, t.configJson, t.hash, t.mode, now).lastInsertRowid);
        inserted++;
      } else if (!keep.has(id)) {
        reused++;
      }
      keep.add(id);
      link.run(sweepId, id, position);
    });
    let retired = 0;
    const members = store.sqlite.prepare<[number], { trial_id: number; status: TrialStatus; attempts: number; others: number }>(
      `SELECT st.trial_id, t.status, t.attempts,
              (SELECT count(*) FROM sweep_trials o WHERE o.trial_id = st.trial_id AND o.sweep_id != st.sweep_id) AS others
       FROM sweep_trials st JOIN trials t ON t.id = st.trial_id WHERE st.sweep_id = ? AND st.active = 1`,
    );
    for (const m of members.all(sweepId)) {
      if (keep.has(m.trial_id)) continue;
      retired++;
      if (m.status === 'pending' && m.attempts === 0 && m.others === 0) {
        store.sqlite.prepare(`DELETE FROM trials WHERE id = ?`).run(m.trial_id);
      } else {
        store.sqlite.prepare(`UPDATE sweep_trials SET active = 0 WHERE sweep_id = ? AND trial_id = ?`).run(sweepId, m.trial_id);
      }
    }
    return { sweep, created, inserted, reused, retired };
  });
}

/**
 * Put the sweep's failed trials back in the queue (Guild's `--needed` re-runs failures); with
 * `trialIds`, only those (a `sweep run --only` selection).
 */
export function requeueFailed(store: Store, sweepId: number, trialIds?: ReadonlySet<number>): number {
  return store.write(
    () =>
      store.sqlite
        .prepare(
          `UPDATE trials SET status = 'pending', worker_id = NULL, worker_pid = NULL, worker_host = NULL, heartbeat_at = NULL
           WHERE status = 'failed' AND id IN (SELECT trial_id FROM sweep_trials WHERE sweep_id = ? AND active = 1)
             AND (? IS NULL OR id IN (SELECT value FROM json_each(?)))`,
        )
        .run(sweepId, ...selectionParams(trialIds)).changes,
  );
}

/** `(? IS NULL OR id IN (SELECT value FROM json_each(?)))` parameters of an optional trial selection. */
function selectionParams(trialIds: ReadonlySet<number> | undefined): [string | null, string | null] {
  const json = trialIds ? JSON.stringify([...trialIds]) : null;
  return [json, json];
}

// ---------------------------------------------------------------------------------------
// Claims and leases

export interface Lease {
  trialId: number;
  /** The value of `attempts` set by this claim: the fencing token. */
  attempt: number;
  workerId: string;
}

export interface ClaimedTrial extends Lease {
  hash: string;
  mode: TrialMode;
  config: Record<string, unknown>;
}

export interface ClaimOptions {
  /** Only trials that are active members of this sweep (else any pending trial). */
  sweepId?: number;
  /** Only these trials (a `sweep run --only` selection; with `sweepId`). */
  trialIds?: ReadonlySet<number>;
  workerId: string;
  /** The worker's process (default this process; null for a worker on another machine, e.g. a queue job). */
  pid?: number | null;
  host?: string | null;
  now?: number;
}

const CLAIM_SET = `status = 'running', attempts = attempts + 1, worker_id = @workerId, worker_pid = @pid,
            worker_host = @host, heartbeat_at = @now, started_at = @now, finished_at = NULL,
            progress_step = NULL, progress_total = NULL, progress_rate = NULL`;

/**
 * Claim the next pending trial atomically: one `UPDATE … WHERE status = 'pending' …
 * RETURNING` inside `BEGIN IMMEDIATE`, so two processes can never both get it. Sweep members
 * go in expansion order. Returns null when nothing is pending.
 */
export function claimTrial(store: Store, opts: ClaimOptions): ClaimedTrial | null {
  const now = opts.now ?? Date.now();
  const pick =
    opts.sweepId === undefined
      ? `SELECT id FROM trials WHERE status = 'pending' ORDER BY id LIMIT 1`
      : `SELECT st.trial_id FROM sweep_trials st JOIN trials t ON t.id = st.trial_id
         WHERE st.sweep_id = @sweepId AND st.active = 1 AND t.status = 'pending'
           AND (@only IS NULL OR st.trial_id IN (SELECT value FROM json_each(@only))) ORDER BY st.position LIMIT 1`;
  const stmt = store.sqlite.prepare(`UPDATE trials SET ${CLAIM_SET} WHERE id = (${pick}) AND status = 'pending' RETURNING id, attempts, config_hash, mode, config`);
  const row = store.write(
    () =>
      stmt.get({ sweepId: opts.sweepId ?? null, only: opts.trialIds ? JSON.stringify([...opts.trialIds]) : null, ...claimer(opts, now) }) as
        | { id: number; attempts: number; config_hash: string; mode: TrialMode; config: string }
        | undefined,
  );
  if (!row) return null;
  return { trialId: row.id, attempt: row.attempts, workerId: opts.workerId, hash: row.config_hash, mode: row.mode, config: JSON.parse(row.config) as Record<string, unknown> };
}

function claimer(opts: Pick<ClaimOptions, 'workerId' | 'pid' | 'host'>, now: number): { workerId: string; pid: number | null; host: string | null; now: number } {
  return { workerId: opts.workerId, pid: opts.pid === null ? null : (opts.pid ?? process.pid), host: opts.host === null ? null : (opts.host ?? hostname()), now };
}

/**
 * Claim one given pending trial (a queue or a Slurm array chose it, not the store): the same
 * lease and fencing token as `claimTrial`. Null if the trial is not pending.
 */
export function claimTrialById(store: Store, trialId: number, opts: Pick<ClaimOptions, 'workerId' | 'pid' | 'host' | 'now'>): Lease | null {
  const row = store.write(
    () =>
      store.sqlite.prepare(`UPDATE trials SET ${CLAIM_SET} WHERE id = @trialId AND status = 'pending' RETURNING attempts`).get({ trialId, ...claimer(opts, opts.now ?? Date.now()) }) as
        | { attempts: number }
        | undefined,
  );
  return row ? { trialId, attempt: row.attempts, workerId: opts.workerId } : null;
}

/** One trial's status and current lease holder, by id or config hash (null: no such trial). */
export interface LeaseState {
  trialId: number;
  hash: string;
  status: TrialStatus;
  /** The attempt counter: with `workerId`, the lease a running trial is held under. */
  attempts: number;
  workerId: string | null;
}

export function leaseState(store: Store, ref: { trialId: number } | { hash: string }): LeaseState | null {
  const where = 'trialId' in ref ? eq(trials.id, ref.trialId) : eq(trials.configHash, ref.hash);
  return store.db.select({ trialId: trials.id, hash: trials.configHash, status: trials.status, attempts: trials.attempts, workerId: trials.workerId }).from(trials).where(where).get() ?? null;
}

/** The lease a running trial is held under (to release or fence it), from its state. */
export function heldLease(s: Pick<LeaseState, 'trialId' | 'attempts' | 'workerId'>): Lease {
  return { trialId: s.trialId, attempt: s.attempts, workerId: s.workerId ?? '' };
}

/** A sweep's active trials in expansion order (only `selection`, when given), with their lease state and config text. */
export interface SweepMember extends LeaseState {
  config: string;
}

export function sweepMembers(store: Store, sweepId: number, selection?: ReadonlySet<number>): SweepMember[] {
  const rows = store.db
    .select({ trialId: trials.id, hash: trials.configHash, status: trials.status, attempts: trials.attempts, workerId: trials.workerId, config: trials.config })
    .from(sweepTrials)
    .innerJoin(trials, eq(trials.id, sweepTrials.trialId))
    .where(and(eq(sweepTrials.sweepId, sweepId), eq(sweepTrials.active, true)))
    .orderBy(sweepTrials.position)
    .all();
  return selection ? rows.filter((r) => selection.has(r.trialId)) : rows;
}

/** A failed trial back to pending (its result is about to be recorded again); false if it was not failed. */
export function requeueFailedTrial(store: Store, trialId: number): boolean {
  return store.write(
    () =>
      store.sqlite
        .prepare(`UPDATE trials SET status = 'pending', worker_id = NULL, worker_pid = NULL, worker_host = NULL, heartbeat_at = NULL WHERE id = ? AND status = 'failed'`)
        .run(trialId).changes === 1,
  );
}

const FENCE = `id = @trialId AND attempts = @attempt AND worker_id = @workerId AND status = 'running'`;

function holds(store: Store, lease: Lease): boolean {
  return store.sqlite.prepare(`SELECT 1 FROM trials WHERE ${FENCE}`).get(leaseParams(lease)) !== undefined;
}

function leaseParams(lease: Lease): { trialId: number; attempt: number; workerId: string } {
  return { trialId: lease.trialId, attempt: lease.attempt, workerId: lease.workerId };
}

/** Refresh the lease's heartbeat; false if the lease was lost. */
export function heartbeat(store: Store, lease: Lease, now = Date.now()): boolean {
  return store.write(() => store.sqlite.prepare(`UPDATE trials SET heartbeat_at = @now WHERE ${FENCE}`).run({ ...leaseParams(lease), now }).changes === 1);
}

export interface TrialProgress {
  step: number;
  /** The trial's step budget, when known. */
  totalSteps: number | null;
  /** Recent pace, when known. */
  stepsPerSecond: number | null;
}

/** Where the leased trial is (for `sweep status` and ETAs); also a heartbeat. False if the lease was lost. */
export function recordProgress(store: Store, lease: Lease, p: TrialProgress, now = Date.now()): boolean {
  const rate = p.stepsPerSecond !== null && Number.isFinite(p.stepsPerSecond) ? p.stepsPerSecond : null;
  return store.write(
    () =>
      store.sqlite
        .prepare(`UPDATE trials SET heartbeat_at = @now, progress_step = @step, progress_total = @total, progress_rate = @rate WHERE ${FENCE}`)
        .run({ ...leaseParams(lease), now, step: p.step, total: p.totalSteps, rate }).changes === 1,
  );
}

export interface MetricPoint {
  key: string;
  step: number;
  value: number;
}

/**
 * Record metric points in one transaction (also a heartbeat). A point already recorded for
 * (trial, key, step), e.g. replayed after a resume from a checkpoint, is overwritten, never
 * duplicated. NaN is stored as NULL. False (nothing written) if the lease was lost.
 */
export function recordMetrics(store: Store, lease: Lease, points: readonly MetricPoint[], now = Date.now()): boolean {
  for (const p of points) {
    if (typeof p.key !== 'string' || p.key === '') throw new Error(`recordMetrics: trial ${lease.trialId}: metric key must be a non-empty string, got ${JSON.stringify(p.key)}`);
    if (!Number.isInteger(p.step)) throw new Error(`recordMetrics: trial ${lease.trialId}: metric '${p.key}': step must be an integer, got ${p.step}`);
    if (typeof p.value !== 'number') throw new Error(`recordMetrics: trial ${lease.trialId}: metric '${p.key}' at step ${p.step}: value must be a number, got ${typeof p.value}`);
  }
  const insert = store.sqlite.prepare(
    `INSERT INTO metrics (trial_id, key, step, value) VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, key, step) DO UPDATE SET value = excluded.value`,
  );
  const beat = store.sqlite.prepare(`UPDATE trials SET heartbeat_at = @now WHERE ${FENCE}`);
  return store.write(() => {
    if (beat.run({ ...leaseParams(lease), now }).changes !== 1) return false;
    for (const p of points) insert.run(lease.trialId, p.key, p.step, Number.isNaN(p.value) ? null : p.value);
    return true;
  });
}

export interface ArtifactInput {
  kind: ArtifactKind;
  path: string;
  bytes?: number | null;
  step?: number | null;
}

/** Record (or update) an artifact of the leased trial; false if the lease was lost. */
export function recordArtifact(store: Store, lease: Lease, a: ArtifactInput): boolean {
  return store.write(() => {
    if (!holds(store, lease)) return false;
    store.db
      .insert(artifacts)
      .values({ trialId: lease.trialId, kind: a.kind, path: a.path, bytes: a.bytes ?? null, step: a.step ?? null, createdAt: Date.now() })
      .onConflictDoUpdate({ target: [artifacts.trialId, artifacts.path], set: { kind: a.kind, bytes: a.bytes ?? null, step: a.step ?? null, createdAt: Date.now() } })
      .run();
    return true;
  });
}

/** Forget artifacts of the leased trial (files pruned from disk); false if the lease was lost. */
export function dropArtifacts(store: Store, lease: Lease, paths: readonly string[]): boolean {
  return store.write(() => {
    if (!holds(store, lease)) return false;
    const del = store.sqlite.prepare(`DELETE FROM artifacts WHERE trial_id = ? AND path = ?`);
    for (const p of paths) del.run(lease.trialId, p);
    return true;
  });
}

/** Checkpoint files and their recorded bytes of some trials (e.g. a sweep's), for disk-use reports. */
export function checkpointBytes(store: Store, trialIds: readonly number[]): { files: number; bytes: number } {
  if (trialIds.length === 0) return { files: 0, bytes: 0 };
  const r = store.sqlite
    .prepare(`SELECT count(*) AS files, coalesce(sum(bytes), 0) AS bytes FROM artifacts WHERE kind = 'checkpoint' AND trial_id IN (SELECT value FROM json_each(?))`)
    .get(JSON.stringify(trialIds)) as { files: number; bytes: number };
  return r;
}

/** Every checkpoint recorded for a trial, newest first (highest step, then latest recorded). */
export function checkpoints(store: Store, trialId: number): { path: string; step: number | null }[] {
  return store.sqlite
    .prepare(`SELECT path, step FROM artifacts WHERE trial_id = ? AND kind = 'checkpoint' ORDER BY step DESC, created_at DESC, id DESC`)
    .all(trialId) as { path: string; step: number | null }[];
}

/**
 * The newest checkpoint a previous attempt of this trial reported (highest step, then
 * latest recorded) whose file still exists, or null: where a re-claimed trial resumes.
 */
export function latestCheckpoint(store: Store, trialId: number, exists: (path: string) => boolean): { path: string; step: number | null } | null {
  return checkpoints(store, trialId).find((r) => exists(r.path)) ?? null;
}

export interface ProvenanceInput {
  packageVersion?: string | null;
  gitCommit?: string | null;
  gitDirty?: boolean | null;
  backend?: string | null;
  kernel?: string | null;
  nodeVersion?: string | null;
  host?: string | null;
}

/** Record where the leased attempt ran (replaces the previous attempt's row). */
export function recordProvenance(store: Store, lease: Lease, p: ProvenanceInput): boolean {
  return store.write(() => {
    if (!holds(store, lease)) return false;
    const row = {
      packageVersion: p.packageVersion ?? null,
      gitCommit: p.gitCommit ?? null,
      gitDirty: p.gitDirty ?? null,
      backend: p.backend ?? null,
      kernel: p.kernel ?? null,
      nodeVersion: p.nodeVersion ?? process.version,
      host: p.host ?? hostname(),
      attempt: lease.attempt,
      recordedAt: Date.now(),
    };
    store.db
      .insert(provenance)
      .values({ trialId: lease.trialId, ...row })
      .onConflictDoUpdate({ target: provenance.trialId, set: row })
      .run();
    return true;
  });
}

/**
 * Whether larger is better for a metric, from its name: keys mentioning loss, error, mse,
 * nll, perplexity (ppl), bits-per-character (bpc) or bits-per-dim (bpd) are minimised,
 * everything else (accuracy, …) maximised.
 */
export function metricDirection(key: string): 'min' | 'max' {
  return /loss|err|mse|nll|perplexity|ppl|bpc|bpd/i.test(key) ? 'min' : 'max';
}

export interface SummaryValue {
  final: number | null;
  best: number | null;
  bestStep: number | null;
  n: number;
}

/**
 * Summary rows of a trial from its metric curves and the trainer's final summary:
 * - per curve: `final` = value at the last step, `best` = min or max (see `metricDirection`)
 *   over the curve with the first step reaching it, `n` = number of points;
 * - a key of the final summary overrides `final`; if it has no curve, `best` = `final`.
 */
export function computeSummary(store: Store, trialId: number, finalSummary: Record<string, number> = {}): Map<string, SummaryValue> {
  const rows = store.sqlite.prepare(`SELECT key, step, value FROM metrics WHERE trial_id = ? ORDER BY key, step`).all(trialId) as { key: string; step: number; value: number | null }[];
  const out = new Map<string, SummaryValue>();
  for (const r of rows) {
    let s = out.get(r.key);
    if (!s) {
      s = { final: null, best: null, bestStep: null, n: 0 };
      out.set(r.key, s);
    }
    s.n++;
    s.final = r.value;
    if (r.value === null) continue;
    const better = metricDirection(r.key) === 'min' ? r.value < (s.best ?? Infinity) : r.value > (s.best ?? -Infinity);
    if (s.best === null || better) {
      s.best = r.value;
      s.bestStep = r.step;
    }
  }
  for (const [key, value] of Object.entries(finalSummary)) {
    if (typeof value !== 'number') throw new Error(`trial ${trialId}: summary '${key}' must be a number, got ${typeof value}`);
    const v = Number.isNaN(value) ? null : value;
    const s = out.get(key);
    if (s) s.final = v;
    else out.set(key, { final: v, best: v, bestStep: null, n: 0 });
  }
  return out;
}

/**
 * Mark the leased trial done and write its summary (one transaction). False, and nothing
 * written, if the lease was lost (someone else owns the trial now).
 */
export function finishTrial(store: Store, lease: Lease, finalSummary: Record<string, number> = {}): boolean {
  return store.write(() => {
    if (!holds(store, lease)) return false;
    const values = computeSummary(store, lease.trialId, finalSummary);
    store.db.delete(summary).where(eq(summary.trialId, lease.trialId)).run();
    const insert = store.sqlite.prepare(`INSERT INTO summary (trial_id, key, final, best, best_step, n) VALUES (?, ?, ?, ?, ?, ?)`);
    for (const [key, s] of values) insert.run(lease.trialId, key, s.final, s.best, s.bestStep, s.n);
    store.sqlite.prepare(`UPDATE trials SET status = 'done', finished_at = @now, heartbeat_at = @now, error = NULL WHERE ${FENCE}`).run({ ...leaseParams(lease), now: Date.now() });
    return true;
  });
}

/** Mark the leased trial failed with its error text; false if the lease was lost. */
export function failTrial(store: Store, lease: Lease, error: string): boolean {
  return store.write(
    () => store.sqlite.prepare(`UPDATE trials SET status = 'failed', finished_at = @now, heartbeat_at = @now, error = @error WHERE ${FENCE}`).run({ ...leaseParams(lease), now: Date.now(), error }).changes === 1,
  );
}

/** Give the trial back to the queue (interrupted, not failed); false if the lease was lost. */
export function releaseTrial(store: Store, lease: Lease): boolean {
  return store.write(
    () =>
      store.sqlite
        .prepare(`UPDATE trials SET status = 'pending', worker_id = NULL, worker_pid = NULL, worker_host = NULL, heartbeat_at = NULL WHERE ${FENCE}`)
        .run(leaseParams(lease)).changes === 1,
  );
}

export interface RunningTrial extends Lease {
  pid: number | null;
  host: string | null;
  heartbeatAt: number | null;
  startedAt: number | null;
}

/** Trials currently marked running (optionally of one sweep, or of one worker pid). */
export function runningTrials(store: Store, opts: { sweepId?: number; pid?: number; host?: string } = {}): RunningTrial[] {
  const conds = [eq(trials.status, 'running')];
  if (opts.sweepId !== undefined) {
    conds.push(inArray(trials.id, store.db.select({ id: sweepTrials.trialId }).from(sweepTrials).where(and(eq(sweepTrials.sweepId, opts.sweepId), eq(sweepTrials.active, true)))));
  }
  if (opts.pid !== undefined) conds.push(eq(trials.workerPid, opts.pid));
  if (opts.host !== undefined) conds.push(eq(trials.workerHost, opts.host));
  return store.db
    .select({ trialId: trials.id, attempt: trials.attempts, workerId: trials.workerId, pid: trials.workerPid, host: trials.workerHost, heartbeatAt: trials.heartbeatAt, startedAt: trials.startedAt })
    .from(trials)
    .where(and(...conds))
    .orderBy(trials.id)
    .all()
    .map((r) => ({ ...r, workerId: r.workerId ?? '' }));
}

/**
 * Whether a process id on this host is alive (EPERM means alive, owned by someone else). A
 * zombie — exited, not yet reaped, as an orphaned worker stays under a container's PID 1 that
 * reaps nothing — is not alive, though signal 0 still reaches it.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

/** Whether `pid` is a zombie (Linux: its state in /proc/PID/stat is Z or X); false where /proc cannot tell. */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // pid (comm) state …: comm may hold spaces and parentheses, so read after the last ')'
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}

export interface StaleOptions {
  sweepId?: number;
  /** A heartbeat older than this marks the trial stale (ms). */
  staleAfterMs: number;
  now?: number;
  /** This machine's name: worker pids are only checked for trials claimed here. */
  host?: string;
  /** Liveness test for a pid on this host (default: signal 0). */
  isAlive?: (pid: number) => boolean;
}

export interface RequeuedTrial extends RunningTrial {
  reason: string;
}

/**
 * Running trials whose worker looks gone: heartbeat older than `staleAfterMs`, or a worker
 * pid on this host that no longer exists. Reads only (see `requeueStale`).
 */
export function findStale(store: Store, opts: StaleOptions): RequeuedTrial[] {
  const now = opts.now ?? Date.now();
  const host = opts.host ?? hostname();
  const alive = opts.isAlive ?? pidAlive;
  const out: RequeuedTrial[] = [];
  for (const t of runningTrials(store, { sweepId: opts.sweepId })) {
    let reason: string | null = null;
    if (t.host === host && t.pid !== null && !alive(t.pid)) reason = `worker pid ${t.pid} on ${host} is gone`;
    else if (t.heartbeatAt === null || now - t.heartbeatAt > opts.staleAfterMs) reason = `no heartbeat for ${t.heartbeatAt === null ? 'ever' : `${Math.round((now - t.heartbeatAt) / 1000)} s`}`;
    if (reason !== null) out.push({ ...t, reason });
  }
  return out;
}

/**
 * Re-queue running trials whose worker is gone (see `findStale`). Fenced by the lease, so a
 * trial finished meanwhile is left alone. Does not count against `maxAttempts`: an
 * interrupted sweep (Ctrl-C, kill -9, power loss) simply continues.
 */
export function requeueStale(store: Store, opts: StaleOptions): RequeuedTrial[] {
  return store.write(() => findStale(store, opts).filter((t) => releaseTrial(store, t)));
}

/**
 * A worker died while holding the trial: re-queue it, or mark it failed with `reason` once it
 * has been claimed `maxAttempts` times (a config that kills its worker every time).
 */
export function abandonTrial(store: Store, lease: Lease, reason: string, maxAttempts: number): 'pending' | 'failed' | 'lost' {
  if (lease.attempt >= maxAttempts) return failTrial(store, lease, `${reason} (attempt ${lease.attempt} of ${maxAttempts})`) ? 'failed' : 'lost';
  return releaseTrial(store, lease) ? 'pending' : 'lost';
}

/** Used by tests and `orthoquant runs` internals: the raw status of one trial. */
export function trialStatus(store: Store, trialId: number): TrialStatus | null {
  return store.db.select({ s: trials.status }).from(trials).where(eq(trials.id, trialId)).get()?.s ?? null;
}

