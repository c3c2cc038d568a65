/**
 * The local executor passes the executor contract (test-fixtures/contract.ts): exactly once,
 * failure recorded, live pace. Its kill -9 and crash scenarios are kill.test.ts and crash.test.ts.
 */
import test from 'node:test';
import { join } from 'node:path';
import { openStore } from '@orthoquant/store';
import { runSweep } from './index.js';
import { FAKE_TRAINER } from './testing.js';
import { sandbox, withCompletionLog } from './test-fixtures/helpers.js';
import { CONTRACT, type ExecutorHarness } from './test-fixtures/contract.js';

function localHarness(completionLog: string): ExecutorHarness {
  return {
    name: 'local',
    completionLog,
    run: (store, file, opts = {}) => withCompletionLog(completionLog, () => runSweep({ store, file, workers: 2, runnerModule: FAKE_TRAINER, heartbeatMs: 100, ...opts })),
  };
}

for (const { what, scenario } of CONTRACT) {
  test(`local executor contract: ${what}`, async () => {
    const sb = sandbox('orthoquant-contract-');
    const store = openStore(sb.db);
    try {
      await scenario(localHarness(join(sb.dir, 'completions.log')), sb, store);
    } finally {
      store.close();
      sb.cleanup();
    }
  });
}
