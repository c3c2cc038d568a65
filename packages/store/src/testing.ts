/**
 * Test helpers for packages that use the store (kept out of the main barrel): throw-away
 * databases under the OS temp folder and small ready-made trial inputs.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from './open.js';
import type { TrialInput } from './trials.js';
import type { TrialMode } from './schema.js';

export interface TempStore {
  store: Store;
  /** The database file. */
  path: string;
  /** The folder holding it (for logs, checkpoints…). */
  dir: string;
  /** Close and delete everything. */
  cleanup(): void;
}

/** A fresh, migrated store in its own temp folder. */
export function tempStore(prefix = 'orthoquant-store-'): TempStore {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const path = join(dir, 'test.db');
  const store = openStore(path);
  return {
    store,
    path,
    dir,
    cleanup() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A trial input from a flat config (keys sorted for the JSON; hash = sha256 of it). Enough
 * for store tests; the sweep package has the real canonical form.
 */
export function trialInput(config: Record<string, unknown>, mode: TrialMode = 'qat'): TrialInput {
  const sorted = Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const configJson = JSON.stringify(sorted);
  return { config: sorted, configJson, hash: createHash('sha256').update(configJson).digest('hex'), mode };
}
