// Child process for claims.test.ts: open the shared database, wait for the start signal
// (a file), then claim-and-finish as fast as possible; print the claimed trial ids as JSON.
import { existsSync } from 'node:fs';
import { openStore, claimTrial, finishTrial, recordMetrics } from '../index.js';

const [dbPath, goFile, workerId] = process.argv.slice(2);
const store = openStore(dbPath);
while (!existsSync(goFile)) await new Promise((r) => setTimeout(r, 5));
const claimed: number[] = [];
for (;;) {
  const t = claimTrial(store, { workerId });
  if (!t) break;
  claimed.push(t.trialId);
  if (!recordMetrics(store, t, [{ key: 'loss', step: 0, value: t.trialId }])) throw new Error(`lost lease on ${t.trialId}`);
  if (!finishTrial(store, t, { by: Number(workerId.replace(/\D/g, '')) })) throw new Error(`could not finish ${t.trialId}`);
}
store.close();
process.stdout.write(JSON.stringify(claimed));
