/**
 * Define (or re-define) a sweep in the store from its expansion — shared by the local
 * scheduler and the queue coordinator: the trial set must not change under a recorded sweep
 * unless forced; then the sweep and its trials are registered (done configs are reused).
 */
import { resolve } from 'node:path';
import type { Logger } from '@orthoquant/runtime';
import { getSweep, listTrials, registerSweep, type Store } from '@orthoquant/store';
import type { Expansion } from './expand.js';
import type { SweepSpec } from './spec.js';
import { describeTrialSetChange } from './diff.js';
import { SweepChangedError } from './errors.js';

export function defineSweep(store: Store, spec: SweepSpec, expansion: Expansion, opts: { force?: boolean; log: Logger }): ReturnType<typeof registerSweep> {
  const existing = getSweep(store, spec.name);
  if (existing && existing.fingerprint !== expansion.fingerprint) {
    const old = listTrials(store, { sweep: spec.name, summaryKeys: [] });
    const change = describeTrialSetChange(
      old.map((t) => ({ hash: t.hash, config: t.config, status: t.status })),
      expansion.trials,
    );
    if (!opts.force) {
      throw new SweepChangedError(
        `${spec.file}: sweep '${spec.name}' in ${store.path} was recorded with a different trial set; ${change.text}\n` +
          `Re-run with force (--force) to re-define it (done trials are kept, dropped ones retired), or give the sweep a new name.`,
        change.added,
        change.removed,
      );
    }
    opts.log.warn({ added: change.added, removed: change.removed }, `re-defining sweep (force): ${change.text}`);
  }
  return registerSweep(store, {
    name: spec.name,
    spec: spec.text,
    specPath: spec.file === '<inline>' ? null : resolve(spec.file),
    fingerprint: expansion.fingerprint,
    trials: expansion.trials.map((t) => ({ config: t.config, configJson: t.configJson, hash: t.hash, mode: t.mode })),
  });
}
