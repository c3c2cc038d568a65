/**
 * What travels through Redis between the coordinator and the queue workers: job data, progress
 * payloads (metric batches, artifacts) and return values. Plain JSON only.
 */
import { InputError } from '@orthoquant/runtime';
import type { ArtifactInput, MetricPoint, ProvenanceInput } from '@orthoquant/store';

/** Default BullMQ queue name (one queue serves every sweep: the job id is the config hash). */
export const DEFAULT_QUEUE_NAME = 'orthoquant-trials';

export interface TrialJobData {
  /** Canonical config hash: also the job id. */
  hash: string;
  /** The resolved trial config. */
  config: Record<string, unknown>;
  /** Runner module specifier (package name or file URL) the coordinator used to expand. */
  runnerModule: string;
  /** For logs only. */
  sweep: string;
  label: string;
  /**
   * The newest checkpoint the coordinator has recorded with every metric point before it (set
   * by the coordinator while the trial runs): a later run of the job resumes from it. A
   * checkpoint only a worker knows of is not enough: steps before it whose points the
   * coordinator never received (it was down) would be missing for good.
   */
  resumeFrom?: string | null;
}

/** Artifacts travel without their kind restricted to the store's union at the type level. */
export type WireArtifact = ArtifactInput;

export interface TrialProgress {
  /** Identifies one run of the job: `bullmq:<attemptsStarted>:<random>` (the store lease's worker id). */
  run: string;
  /** Metric points since the previous progress event. */
  points: MetricPoint[];
  artifacts: WireArtifact[];
  /** Latest step and metrics, for progress bars. */
  step: number | null;
  metrics: Record<string, number>;
  /** Steps done, the step budget and recent pace, once the trainer reported them (for ETAs and `sweep status`). */
  pace?: { step: number; totalSteps: number; stepsPerSecond: number | null } | null;
  /** The run's progress events in order (0, 1, …): the coordinator knows whether it has seen them all. */
  seq?: number;
  /** Set on the last progress event of a run that was stopped (job moved back to wait). */
  released?: boolean;
}

export interface TrialResult {
  run: string;
  summary: Record<string, number>;
  /** Every metric point of this run (the coordinator may have missed progress events). */
  points: MetricPoint[];
  artifacts: WireArtifact[];
  provenance: ProvenanceInput;
}

/** `bullmq:<attemptsStarted>:<id>` → attemptsStarted, or null for another kind of worker id. */
export function runOrder(run: string): number | null {
  const m = /^bullmq:(\d+):/.exec(run);
  return m ? Number(m[1]) : null;
}

export interface RedisConnection {
  host: string;
  port: number;
  db?: number;
  username?: string;
  password?: string;
  /** Required by BullMQ workers (blocking commands). */
  maxRetriesPerRequest: null;
}

/** Parse `redis://[user:pass@]host:port[/db]` into BullMQ connection options. */
export function parseRedisUrl(url: string, flag = '--queue'): RedisConnection {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InputError(`expected a Redis URL like redis://HOST:PORT, got '${url}'`, flag);
  }
  if (u.protocol !== 'redis:') throw new InputError(`expected a redis:// URL, got protocol '${u.protocol}'`, flag);
  if (!u.hostname) throw new InputError(`no host in '${url}'`, flag);
  const port = u.port ? Number(u.port) : 6379;
  const c: RedisConnection = { host: u.hostname.replace(/^\[|\]$/g, ''), port, maxRetriesPerRequest: null };
  const db = u.pathname.replace(/^\//, '');
  if (db) {
    if (!/^\d+$/.test(db)) throw new InputError(`database must be a number, got '/${db}'`, flag);
    c.db = Number(db);
  }
  if (u.username) c.username = decodeURIComponent(u.username);
  if (u.password) c.password = decodeURIComponent(u.password);
  return c;
}
