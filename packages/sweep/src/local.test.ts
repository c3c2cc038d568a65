/**
 * The local executor passes the executor contract (test-fixtures/contract.ts): exactly once,
 * failure recorded, live pace, resume after kill -9 (power loss: the coordinator and its workers
 * all SIGKILLed) and SIGTERM requeue. Its other kill and crash cases are kill.test.ts and
 * crash.test.ts.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { getTrial, openStore, runningTrials, type RunningTrial } from '@orthoquant/store';
import { runSweep } from './index.js';
import { FAKE_TRAINER } from './testing.js';
import { groupGone, sandbox, signalGroup, startCoordinator, waitFor, withCompletionLog } from './test-fixtures/helpers.js';
import { CONTRACT, type ExecutorHarness } from './test-fixtures/contract.js';

function localHarness(completionLog: string): ExecutorHarness {
  return {
    name: 'local',
    completionLog,
    run: (store, file, opts = {}) => withCompletionLog(completionLog, () => runSweep({ store, file, workers: 2, runnerModule: FAKE_TRAINER, heartbeatMs: 100, ...opts })),
    // a coordinator process (`orthoquant sweep run`) and its two workers, in one process group
    async start(store, file) {
      const c = startCoordinator(store.path, file, 2, { FAKE_TRAINER_LOG: completionLog });
      const gone = async (signal: NodeJS.Signals) => {
        signalGroup(c.child.pid!, signal);
        await c.exited;
        await waitFor('the coordinator and its workers to exit', () => groupGone(c.child.pid!), 15_000);
      };
      let stuck: RunningTrial[] = [];
      return {
        kill: () => gone('SIGKILL'),
        // the workers release their trials on SIGTERM (and when their coordinator is gone)
        terminate: () => gone('SIGTERM'),
        checkStopped(s, how) {
          stuck = runningTrials(s);
          if (how === 'kill') assert.ok(stuck.length >= 1, 'power loss: trials left running by dead workers');
        },
        checkResumed(s) {
          // a trial left running by a dead worker is re-queued at the next run and claimed once
          for (const t of stuck) assert.equal(getTrial(s, t.trialId).attempts, t.attempt + 1, `trial ${t.trialId} was claimed again once`);
        },
      };
    },
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
