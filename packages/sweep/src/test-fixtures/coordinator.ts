// A coordinator process for the kill tests: runs a sweep with the fake trainer and prints a
// line per progress event, so the test can kill it mid-run.
import { runSweep } from '../index.js';
import { FAKE_TRAINER } from '../testing.js';

const [dbPath, file, workers] = process.argv.slice(2);
const r = await runSweep({
  dbPath,
  file,
  workers: Number(workers),
  runnerModule: FAKE_TRAINER,
  heartbeatMs: 200,
  onProgress: (p) => {
    if (p.event) process.stdout.write(`${p.event.type} ${p.event.trialId ?? ''} done=${p.done}\n`);
  },
});
process.stdout.write(`result ${JSON.stringify(r)}\n`);
