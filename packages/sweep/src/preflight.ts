/**
 * Preflight: before a sweep runs anything, the runner module checks every trial still to run
 * (its dataset can be found and read, its model can be built on that task's shapes), so a
 * missing IMDB file or an impossible hidden size is one clear error at the start, not a failed
 * trial with a stack trace an hour in. Tasks and models are checked once per distinct config.
 */
import { InputError } from '@orthoquant/runtime';
import { listTrials, type Store } from '@orthoquant/store';
import type { PreflightTrial, TrialRunnerModule } from './runner.js';

/** Group the runner's problems: one line per distinct message, naming the trials it concerns. */
export function preflightMessage(problems: { message: string; label: string }[], checked: number): string {
  const byMessage = new Map<string, string[]>();
  for (const p of problems) byMessage.set(p.message, [...(byMessage.get(p.message) ?? []), p.label]);
  const lines = [...byMessage].map(([message, labels]) => {
    const who = labels.length === 1 ? labels[0] : `${labels.length} trials: ${labels.slice(0, 3).join('; ')}${labels.length > 3 ? '; …' : ''}`;
    return `- ${who}:\n    ${message.split('\n').join('\n    ')}`;
  });
  const n = new Set(problems.map((p) => p.label)).size;
  return `preflight: ${n} of ${checked} trials to run cannot start; nothing was run:\n${lines.join('\n')}`;
}

/**
 * Check the sweep's pending trials (of `selection`, when given) with the runner's `preflight`,
 * if it has one; throws an InputError listing every problem.
 */
export async function preflightSweep(
  runner: TrialRunnerModule,
  store: Store,
  sweep: string,
  opts: { selection?: ReadonlySet<number>; labels?: Map<string, string>; dataDir?: string } = {},
): Promise<void> {
  if (!runner.preflight) return;
  const rows = listTrials(store, { sweep, where: 'status = pending', summaryKeys: [] }).filter((r) => !opts.selection || opts.selection.has(r.id));
  if (rows.length === 0) return;
  const trials: PreflightTrial[] = rows.map((r) => ({ config: r.config, label: `trial ${r.id} (${opts.labels?.get(r.hash) ?? r.hash.slice(0, 12)})` }));
  const problems = await runner.preflight(trials, opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {});
  if (problems.length) throw new InputError(preflightMessage(problems, trials.length));
}
