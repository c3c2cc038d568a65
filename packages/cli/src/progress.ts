/**
 * Progress on stderr: a live bar (cli-progress) on a terminal, a log line every few seconds
 * otherwise (CI, pipes), so long runs always show that they are alive.
 */
import cliProgress from 'cli-progress';
import { log } from '@orthoquant/runtime';

export interface Progress {
  update(value: number, fields?: Record<string, string | number>): void;
  setTotal(total: number): void;
  stop(): void;
}

/** Bytes in words: `512 B`, `3.4 kB`, `1.2 MB`, `2.0 GB` (powers of 1000). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/**
 * @param format cli-progress format; `{bar} {value}/{total} {eta_formatted}` plus your fields.
 * @param describe one-line text for the non-TTY log line.
 */
export function createProgress(opts: { total: number; format: string; describe: (value: number, total: number, fields: Record<string, string | number>) => string; intervalMs?: number }): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: opts.format, stream: process.stderr, hideCursor: true, clearOnComplete: false, etaBuffer: 50, fps: 5 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(opts.total, 0);
    return {
      update: (v, f) => bar.update(v, f),
      setTotal: (t) => bar.setTotal(t),
      stop: () => bar.stop(),
    };
  }
  let total = opts.total;
  let last = 0;
  let lastLine = '';
  const started = Date.now();
  const every = opts.intervalMs ?? 10_000;
  return {
    update: (v, f = {}) => {
      const now = Date.now();
      if (now - last < every && v < total) return;
      // the end is said once, however often it is reported
      const line = opts.describe(v, total, f);
      if (v >= total && line === lastLine) return;
      last = now;
      lastLine = line;
      const elapsed = (now - started) / 1000;
      const eta = v > 0 ? (elapsed * (total - v)) / v : NaN;
      log().info(`${line} (elapsed ${formatDuration(elapsed)}, eta ${formatDuration(eta)})`);
    },
    setTotal: (t) => {
      total = t;
    },
    stop: () => undefined,
  };
}

/** Where running trials are, in words: `trial 3 at step 1200/40000, 12.3 steps/s, 52m left`. */
export function describeRunning(trials: { trialId: number; step: number | null; totalSteps: number | null; stepsPerSecond: number | null; etaMs?: number | null }[], max = 2): string {
  const one = (t: (typeof trials)[number]) => {
    if (t.step === null) return `trial ${t.trialId} starting`;
    const rate = t.stepsPerSecond !== null && t.stepsPerSecond > 0 ? t.stepsPerSecond : null;
    const eta = t.etaMs ?? (rate !== null && t.totalSteps !== null ? ((t.totalSteps - t.step) / rate) * 1000 : null);
    return (
      `trial ${t.trialId} at step ${t.step}${t.totalSteps !== null ? `/${t.totalSteps}` : ''}` +
      (rate !== null ? `, ${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)} steps/s` : '') +
      (eta !== null ? `, ${formatDuration(eta / 1000)} left` : '')
    );
  };
  const shown = trials.slice(0, max).map(one);
  if (trials.length > max) shown.push(`${trials.length - max} more running`);
  return shown.join('; ');
}
