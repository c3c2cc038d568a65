// A coordinator process for the kill and full-disk tests: runs a sweep with the fake trainer and
// prints a line per progress event, so the test can kill it mid-run, then its result or error.
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
}).catch((e: Error) => {
  // as the CLI does: bad input (a store that cannot be written…) is a message and exit code 2
  process.stdout.write(`error ${e.name}: ${e.message}\n`);
  process.exit(e.name === 'InputError' ? 2 : 1);
});
process.stdout.write(`result ${JSON.stringify(r)}\n`);
