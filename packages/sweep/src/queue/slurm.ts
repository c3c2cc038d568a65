/**
 * The Slurm route: `exportSlurm` registers a sweep in the store and writes a job-array script
 * plus one JSON file per trial to run; each array task runs one trial with `runSlurmTask`
 * (no database: results go to a JSON-lines file of its own); `ingestSlurm` records those
 * files into the store. Every step can be repeated: a task whose file already ends in a
 * result does nothing, and ingest skips trials already done (metric rows are upserts).
 *
 * Results file `results/<index>.jsonl`, one object a line, per attempt (`run`):
 *   {type:'start', run, hash, host, time}   {type:'metrics', run, points}
 *   {type:'artifact', run, kind, path, step}  {type:'done', run, summary, provenance}
 *   {type:'failed', run, error}   {type:'released', run, reason}
 *
 * SIGTERM (what Slurm sends a task it preempts, cancels or times out before it kills it) stops
 * the trial at its next step and ends the attempt `released`: the trial stays unfinished, and the
 * task run again (a requeue) resumes from its last checkpoint.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { backendInfo, createLogger, InputError, setting, type Logger } from '@orthoquant/runtime';
import { openStore, releaseTrial, leaseState, heldLease, sweepMembers, requeueFailedTrial, type MetricPoint, type ProvenanceInput, type Store } from '@orthoquant/store';
import { loadRunner, type TrialEvent } from '../runner.js';
import { trialEventHandler } from '../trial-events.js';
import { claimTrialFor } from './coordinator.js';
import { prepareSweep, recordRemoteEnd, type PrepareSweepOptions } from '../session.js';
import type { WireArtifact } from './protocol.js';

export interface SlurmTrialFile {
  index: number;
  hash: string;
  label: string;
  sweep: string;
  runnerModule: string;
  config: Record<string, unknown>;
}

export interface SlurmManifest {
  format: 'orthoquant-slurm/1';
  sweep: string;
  count: number;
  hashes: string[];
  createdAt: string;
}

export interface ExportSlurmOptions extends PrepareSweepOptions {
  out: string;
  dbPath?: string;
  store?: Store;
  /** #SBATCH options (partition, time, cpus-per-task, mem, account …), written as given. */
  sbatch?: Record<string, string | number>;
  /** The command that runs one task (default `orthoquant`; the script honours $ORTHOQUANT_CMD). */
  command?: string;
}

export interface ExportSlurmResult {
  sweep: string;
  dir: string;
  /** The job-array script, or null when no trial is left to run. */
  script: string | null;
  /** Trials written (the array size). */
  count: number;
  /** Trials of the sweep already done (not exported). */
  done: number;
  /** Trials of the sweep left out by `only` (not exported, whatever their status). */
  excluded: number;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Register the sweep and write DIR/sweep.sbatch, DIR/manifest.json and DIR/trials/<i>.json. */
export async function exportSlurm(opts: ExportSlurmOptions): Promise<ExportSlurmResult> {
  const ownStore = !opts.store;
  const store = opts.store ?? openStore(opts.dbPath);
  try {
    const log = opts.logger ?? createLogger({ name: 'sweep-slurm', quiet: true });
    const prep = await prepareSweep(store, opts, log);
    const rows = sweepMembers(store, prep.sweepId);
    const excluded = prep.selection ? rows.filter((r) => !prep.selection!.has(r.trialId)).length : 0;
    const todo = rows.filter((r) => r.status === 'pending' && (!prep.selection || prep.selection.has(r.trialId)));
    const dir = resolve(opts.out);
    if (existsSync(join(dir, 'manifest.json'))) {
      const old = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as SlurmManifest;
      if (old.sweep !== prep.spec.name) throw new InputError(`already holds an export of sweep '${old.sweep}'; choose another folder`, opts.out);
    }
    mkdirSync(join(dir, 'trials'), { recursive: true });
    mkdirSync(join(dir, 'results'), { recursive: true });
    mkdirSync(join(dir, 'logs'), { recursive: true });
    todo.forEach((r, index) => {
      const f: SlurmTrialFile = { index, hash: r.hash, label: prep.labels.get(r.hash) ?? r.hash.slice(0, 12), sweep: prep.spec.name, runnerModule: prep.runnerModule, config: JSON.parse(r.config) as Record<string, unknown> };
      writeFileSync(join(dir, 'trials', `${index}.json`), `${JSON.stringify(f, null, 2)}\n`);
    });
    const manifest: SlurmManifest = { format: 'orthoquant-slurm/1', sweep: prep.spec.name, count: todo.length, hashes: todo.map((r) => r.hash), createdAt: new Date().toISOString() };
    writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const script = join(dir, 'sweep.sbatch');
    if (todo.length === 0) {
      rmSync(script, { force: true });
      return { sweep: prep.spec.name, dir, script: null, count: 0, done: rows.filter((r) => r.status === 'done').length, excluded };
    }
    const sbatch = { 'job-name': `oq-${prep.spec.name}`, 'cpus-per-task': 1, ...(opts.sbatch ?? {}) };
    const lines = [
      '#!/bin/bash',
      `# orthoquant sweep '${prep.spec.name}': ${todo.length} trials, one per array task.`,
      `# Submit: sbatch ${script}    Then: orthoquant sweep ingest ${dir}`,
      ...Object.entries(sbatch).map(([k, v]) => `#SBATCH --${k}=${v}`),
      `#SBATCH --array=0-${todo.length - 1}`,
      `#SBATCH --output=${join(dir, 'logs', '%A_%a.out')}`,
      'set -euo pipefail',
      `cd ${shq(process.cwd())}`,
      `exec \${ORTHOQUANT_CMD:-${opts.command ?? 'orthoquant'}} sweep run-task ${shq(dir)} --index "$SLURM_ARRAY_TASK_ID"`,
      '',
    ];
    writeFileSync(script, lines.join('\n'));
    chmodSync(script, 0o755);
    return { sweep: prep.spec.name, dir, script, count: todo.length, done: rows.filter((r) => r.status === 'done').length, excluded };
  } finally {
    if (ownStore) store.close();
  }
}

interface ResultLine {
  type: 'start' | 'metrics' | 'artifact' | 'done' | 'failed' | 'released';
  run: string;
  [k: string]: unknown;
}

function readResults(file: string): ResultLine[] {
  if (!existsSync(file)) return [];
  const out: ResultLine[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as ResultLine);
    } catch {
      // a task killed mid-write leaves a partial last line; anything else is damage
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim())) throw new InputError(`line ${i + 1}: not JSON`, file);
    }
  });
  return out;
}

export interface SlurmTaskOptions {
  dir: string;
  index: number;
  /** Checkpoints go under this (default DIR/runs). */
  checkpointRoot?: string;
  logger?: Logger;
  /** Stops the trial (the attempt ends `released`); default: this process's SIGTERM or SIGINT. */
  signal?: AbortSignal;
}

/** Run array task `index` of an export: one trial, results appended to results/<index>.jsonl. */
export async function runSlurmTask(opts: SlurmTaskOptions): Promise<'done' | 'failed' | 'released' | 'skipped'> {
  const dir = resolve(opts.dir);
  const file = join(dir, 'trials', `${opts.index}.json`);
  if (!Number.isInteger(opts.index) || opts.index < 0) throw new InputError(`expected an integer ≥ 0, got ${opts.index}`, '--index');
  if (!existsSync(file)) throw new InputError(`no trial ${opts.index} in this export (${file} is missing)`, opts.dir);
  const t = JSON.parse(readFileSync(file, 'utf8')) as SlurmTrialFile;
  const out = join(dir, 'results', `${opts.index}.jsonl`);
  const prev = readResults(out);
  if (prev.some((l) => l.type === 'done')) return 'skipped';
  const log = (opts.logger ?? createLogger({ name: 'sweep-task', quiet: true })).child({ task: opts.index, hash: t.hash.slice(0, 12) });
  const run = `slurm:${setting('slurmJobId') ?? 'local'}:${randomUUID().slice(0, 8)}`;
  const ac = new AbortController();
  const stop = (reason: string) => ac.abort(new Error(`stopped: ${reason}`));
  const onSignal = (sig: NodeJS.Signals) => stop(sig);
  if (opts.signal) {
    if (opts.signal.aborted) stop('aborted');
    opts.signal.addEventListener('abort', () => stop('aborted'), { once: true });
  } else {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  const write = (l: ResultLine) => appendFileSync(out, `${JSON.stringify(l)}\n`);
  write({ type: 'start', run, hash: t.hash, host: hostname(), time: Date.now() });
  const checkpoints = prev.filter((l) => l.type === 'artifact' && l.kind === 'checkpoint' && typeof l.path === 'string' && existsSync(l.path as string));
  const resumeFrom = (checkpoints[checkpoints.length - 1]?.path as string | undefined) ?? null;
  let batch: MetricPoint[] = [];
  const flush = () => {
    if (batch.length) write({ type: 'metrics', run, points: batch });
    batch = [];
  };
  const events = trialEventHandler(
    {
      points: (points) => batch.push(...points),
      artifact: (a) => {
        flush();
        write({ type: 'artifact', run, ...a });
      },
    },
    log,
  );
  const onEvent = (e: TrialEvent) => {
    events.onEvent(e);
    if (batch.length >= 500) flush();
  };
  try {
    const runner = await loadRunner(t.runnerModule);
    const config = runner.parseTrialConfig ? runner.parseTrialConfig(t.config, `trial ${t.label}`) : t.config;
    const summary = await runner.runTrial(config as never, {
      onEvent,
      signal: ac.signal,
      checkpointDir: join(opts.checkpointRoot ?? join(dir, 'runs'), t.hash.slice(0, 16)),
      ...(resumeFrom ? { resumeFrom } : {}),
      where: `trial ${t.label}`,
      logger: log,
    });
    flush();
    const rt = runner.describeRuntime?.() ?? {};
    const provenance: ProvenanceInput = { backend: rt.backend ?? backendInfo()?.choice ?? null, kernel: rt.kernel ?? null, nodeVersion: process.version, host: hostname() };
    write({ type: 'done', run, summary: summary ?? {}, provenance });
    return 'done';
  } catch (e) {
    flush();
    if (ac.signal.aborted) {
      write({ type: 'released', run, reason: (ac.signal.reason as Error).message });
      return 'released';
    }
    write({ type: 'failed', run, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    return 'failed';
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

export interface IngestSlurmResult {
  sweep: string;
  /** Trials recorded done / failed by this call. */
  done: number;
  failed: number;
  /** Already done in the store (nothing written). */
  alreadyDone: number;
  /** Already recorded failed with the same outcome (nothing written). */
  alreadyFailed: number;
  /** Tasks with no result yet (not run, or still running, or killed). */
  unfinished: number[];
}

/** Record an export's results into the store (idempotent). */
export function ingestSlurm(opts: { dir: string; dbPath?: string; store?: Store }): IngestSlurmResult {
  const dir = resolve(opts.dir);
  const mf = join(dir, 'manifest.json');
  if (!existsSync(mf)) throw new InputError('not a Slurm export (no manifest.json); create one with `orthoquant sweep export-slurm`', opts.dir);
  const manifest = JSON.parse(readFileSync(mf, 'utf8')) as SlurmManifest;
  if (manifest.format !== 'orthoquant-slurm/1') throw new InputError(`format: expected orthoquant-slurm/1, got ${JSON.stringify(manifest.format)}`, mf);
  const ownStore = !opts.store;
  const store = opts.store ?? openStore(opts.dbPath);
  try {
    const res: IngestSlurmResult = { sweep: manifest.sweep, done: 0, failed: 0, alreadyDone: 0, alreadyFailed: 0, unfinished: [] };
    const files = new Set(readdirSync(join(dir, 'results')));
    manifest.hashes.forEach((hash, index) => {
      const row = leaseState(store, { hash });
      if (!row) throw new InputError(`task ${index}: trial ${hash.slice(0, 12)} is not in ${store.path}; ingest into the database the sweep was exported from`, mf);
      const lines = files.has(`${index}.jsonl`) ? readResults(join(dir, 'results', `${index}.jsonl`)) : [];
      // done in any attempt; else the last attempt's end (a released one leaves the trial unfinished)
      const last = [...lines].reverse().find((l) => l.type === 'failed' || l.type === 'released');
      const end = [...lines].reverse().find((l) => l.type === 'done') ?? (last?.type === 'failed' ? last : undefined);
      if (row.status === 'done') return void res.alreadyDone++;
      if (!end) return void res.unfinished.push(index);
      if (row.status === 'failed' && end.type === 'failed') return void res.alreadyFailed++;
      if (row.status === 'failed') requeueFailedTrial(store, row.trialId);
      if (row.status === 'running') releaseTrial(store, heldLease(row));
      const lease = claimTrialFor(store, row.trialId, end.run, (lines.find((l) => l.type === 'start' && l.run === end.run)?.host as string | undefined) ?? null);
      if (!lease) return void res.unfinished.push(index);
      // every attempt's points: a resumed attempt only re-ran the steps after its checkpoint
      const run = {
        points: lines.filter((l) => l.type === 'metrics').flatMap((l) => l.points as MetricPoint[]),
        artifacts: lines.filter((l) => l.type === 'artifact').map((a) => ({ kind: a.kind as WireArtifact['kind'], path: a.path as string, step: (a.step as number | null) ?? null })),
      };
      const ended = end.type === 'done' ? { summary: (end.summary as Record<string, number>) ?? {}, provenance: (end.provenance as ProvenanceInput) ?? {} } : { error: String(end.error) };
      if (recordRemoteEnd(store, lease, { ...run, ...ended })) res[end.type === 'done' ? 'done' : 'failed']++;
    });
    return res;
  } finally {
    if (ownStore) store.close();
  }
}
