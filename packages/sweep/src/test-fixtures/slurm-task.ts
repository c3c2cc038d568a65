// Stands in for `orthoquant` in the Slurm tests: handles `sweep run-task DIR --index N` as the
// CLI does, so the exported sbatch script itself can be run with bash.
import { runSlurmTask } from '../index.js';

const args = process.argv.slice(2);
if (args[0] !== 'sweep' || args[1] !== 'run-task' || args[3] !== '--index') {
  process.stderr.write(`slurm-task fixture: unexpected arguments ${JSON.stringify(args)}\n`);
  process.exit(2);
}
const outcome = await runSlurmTask({ dir: args[2]!, index: Number(args[4]) });
process.stdout.write(`${outcome}\n`);
process.exit(outcome === 'failed' ? 1 : 0);
