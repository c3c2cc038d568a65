/**
 * `sweep run FILE --only 'FILTER'`: run a subset of a sweep's trials. The sweep is registered
 * whole (status and reports see every trial); the filter — the store's grammar, e.g.
 * `params.model.type = hadamrnn and seed = 0` — picks which of its trials this run may claim.
 */
import { InputError } from '@orthoquant/runtime';
import { FilterError, listTrials, parseFilter, type Store } from '@orthoquant/store';

/** Parse the filter before anything is recorded; a bad one is an error naming `--only`. */
export function checkOnly(only: string | undefined): void {
  if (only === undefined) return;
  try {
    if (parseFilter(only).length === 0) throw new InputError('expected a filter such as "seed = 0" or "params.model.type = hadamrnn", got an empty one', '--only');
  } catch (e) {
    if (e instanceof FilterError) throw new InputError(`${e.reason} at column ${e.pos + 1}\n  ${e.text}\n  ${' '.repeat(e.pos)}^`, '--only');
    throw e;
  }
}

/**
 * The ids of the registered sweep's active trials that match `only` (undefined: no
 * selection, every trial). Throws when the filter matches none of them.
 */
export function selectTrials(store: Store, sweep: string, only: string | undefined): ReadonlySet<number> | undefined {
  if (only === undefined) return undefined;
  checkOnly(only);
  const ids = new Set(listTrials(store, { sweep, where: only, summaryKeys: [] }).map((t) => t.id));
  if (ids.size === 0) {
    const total = listTrials(store, { sweep, summaryKeys: [] }).length;
    throw new InputError(`matches none of the ${total} trials of sweep '${sweep}' (fields: params.<path>, seed, status, hash, id …; see \`runs list -f\`)`, `--only '${only}'`);
  }
  return ids;
}
