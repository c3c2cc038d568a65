// A queue worker process for the queue tests (a short lock, ORTHOQUANT_TEST_LOCK_MS, so a killed
// worker's job is recovered fast). Prints `start <label>` / `done <label>` / `released <label>` lines; exits on SIGTERM
// once its running job is back in the queue.
import { startQueueWorker } from '../index.js';

const [url, dataDir, concurrency] = process.argv.slice(2);
const queueName = process.env.ORTHOQUANT_TEST_QUEUE;
const w = await startQueueWorker({
  queue: url!,
  ...(queueName ? { queueName } : {}),
  dataDir: dataDir!,
  concurrency: Number(concurrency ?? 1),
  lockDurationMs: Number(process.env.ORTHOQUANT_TEST_LOCK_MS ?? 2000),
  stalledIntervalMs: 500,
  progressMs: 100,
  graceMs: 2000,
  onJob: (e) => process.stdout.write(`${e.type} ${e.label}\n`),
});
process.on('SIGTERM', () => void w.stop('SIGTERM'));
process.stdout.write('ready\n');
await w.closed;
process.stdout.write('closed\n');
process.exit(0);
