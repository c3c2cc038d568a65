// A coordinator process for the kill, SIGTERM and full-disk tests: runs a sweep with the fake
// trainer — on local workers (`DB FILE WORKERS`) or on queue workers (`DB FILE redis://… QUEUE`)
// — and prints a line per progress event, so the test can kill it mid-run, then its result or error.
import { runQueueSweep, runSweep, type SweepProgress } from '../index.js';
import { FAKE_TRAINER } from '../testing.js';

const [dbPath, file, how, queueName] = process.argv.slice(2);
const onProgress = (p: SweepProgress) => {
  if (p.event) process.stdout.write(`${p.event.type} ${p.event.trialId ?? ''} done=${p.done}\n`);
};
const run = how!.startsWith('redis://')
  ? runQueueSweep({ dbPath, file, queue: how!, queueName: queueName!, runnerModule: FAKE_TRAINER, pollMs: 200, onProgress })
  : runSweep({ dbPath, file, workers: Number(how), runnerModule: FAKE_TRAINER, heartbeatMs: 200, onProgress });
const r = await run.catch((e: Error) => {
  // as the CLI does: bad input (a store that cannot be written…) is a message and exit code 2
  process.stdout.write(`error ${e.name}: ${e.message}\n`);
  process.exit(e.name === 'InputError' ? 2 : 1);
});
process.stdout.write(`result ${JSON.stringify(r)}\n`);
