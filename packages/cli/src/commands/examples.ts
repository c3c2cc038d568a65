/**
 * Every `--help` example, as data: the commands show them, and `help-examples.test.ts` runs
 * each one in this order (in a fresh folder with the repository's configs/ and experiments/),
 * so no example names a file that does not exist or a flag that is gone.
 */
export const HELP_EXAMPLES = {
  train: [
    ['$0 train configs/trials/hadamrnn-copy.yaml', 'train HadamRNN on a short copy task (seconds; configs/trials/ has more)'],
    ['$0 train configs/trials/qornn-copy.yaml --checkpoint-dir runs/qornn-copy', 'with checkpoints; --resume runs/qornn-copy continues from the last one'],
  ],
  'sweep run': [['$0 sweep run experiments/try.yaml --report quickstart', 'three trials in seconds, then the quickstart table (npm start runs experiments/quickstart.yaml)']],
  'sweep status': [['$0 sweep status try', "counts, and each running trial's step, steps/s and ETA"]],
  'sweep export-slurm': [['$0 sweep export-slurm experiments/quickstart.yaml --out slurm/quickstart --sbatch partition=cpu time=02:00:00', 'write slurm/quickstart/sweep.sbatch']],
  'runs list': [["$0 runs list -f 'params.model.type = hadamrnn and metrics.test_accuracy > 0.5'", '']],
  report: [
    ['$0 report', "the table of the store's sweep (or the list of tables)"],
    ['$0 report --table hadamrnn --format latex -o hadamrnn.tex', ''],
    ["$0 report --plot size-accuracy -f 'params.task.name = copy' -o fig1.svg", "HadamRNN's Figure 1 plane (size vs accuracy)"],
    ['$0 report --plot curves --metric loss -o curves.svg', 'learning curves with seed bands (log axis for losses)'],
  ],
  quantize: [['$0 quantize 3 --act-bits 12', 'trial 3 with 12-bit activations, written to ./trial-3-a12.oqint']],
  eval: [
    ['$0 eval trial-3-a12.oqint --task copy', 'on the test split of the task it was calibrated for'],
    ['$0 eval trial-3-a12.oqint --engine c', 'the same, with the model exported as C and compiled (cc): the deployed artifact measured'],
  ],
  'export-c': [['$0 export-c trial-3-a12.oqint --out deploy --name copy_rnn', 'deploy/copy_rnn.{h,c} and demo_main.c: C99, integers only, bit-exact with the JS engine']],
  worker: [['$0 worker --queue redis://127.0.0.1:6379 -j 2', 'run two trials at a time from a queue on this machine']],
} as const satisfies Record<string, readonly (readonly [string, string])[]>;

export type ExampleCommand = keyof typeof HELP_EXAMPLES;

/** Add a command's examples to its yargs builder. */
export function withExamples<Y extends { example(cmd: string, desc: string): Y }>(y: Y, command: ExampleCommand): Y {
  let out = y;
  for (const [cmd, desc] of HELP_EXAMPLES[command]) out = out.example(cmd, desc);
  return out;
}
