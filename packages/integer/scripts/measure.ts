/**
 * Throughput of the float reference vs the integer engines (sequences/s, median of 5 runs),
 * at the copy-task shape (n = 128, T = 1000, 10 inputs, 9 outputs at every step) and the
 * pMNIST shape (n = 512, T = 784, 1 input, 10 outputs at the last step); HadamRNN and dense.
 *
 *   node --conditions=@orthoquant/source --import tsx packages/integer/scripts/measure.ts [--quick]
 *
 * Random weights (speed does not depend on training) and task-like inputs (one-hot symbols,
 * sparse pixels); the integer model is exported at 12
 * activation bits (HadamRNN: 4-bit U/V as in the paper; dense: 8-bit W/U/V). The integer
 * time includes the input quantization, input projection, recurrent loop and readout.
 */
import { performance } from 'node:perf_hooks';
import { calibrate, exportInteger, floatForward, runInteger } from '../src/index.js';
import type { OpCounts } from '../src/index.js';
import type { FloatModel } from '../src/index.js';
import { randomHadamRnn, randomOrnn, taskLikeInputs } from '../src/testing.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 1 : 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeIt(fn: () => void): number {
  fn(); // warm-up (JIT)
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

interface Shape {
  label: string;
  n: number;
  T: number;
  inputSize: number;
  outputSize: number;
  readout: 'many-to-many' | 'last';
}
const SHAPES: Shape[] = [
  { label: 'copy  n=128 T=1000', n: 128, T: 1000, inputSize: 10, outputSize: 9, readout: 'many-to-many' },
  { label: 'pMNIST n=512 T=784', n: 512, T: 784, inputSize: 1, outputSize: 10, readout: 'last' },
];

console.log(`node ${process.version}, median of ${RUNS} runs after one warm-up; sequences/s (higher is better)`);
console.log('shape               model      B   float ref   integer   integer/float');
for (const s of SHAPES) {
  for (const kind of ['hadamrnn', 'dense'] as const) {
    const T = quick ? Math.min(s.T, 100) : s.T;
    const B = kind === 'dense' && s.n === 512 ? 2 : 8;
    const base = { n: s.n, inputSize: s.inputSize, outputSize: s.outputSize, readout: s.readout, seed: s.label };
    const float: FloatModel = kind === 'hadamrnn' ? { ...randomHadamRnn(base), bits: { U: 4, V: 4 } } : randomOrnn(base);
    const x = taskLikeInputs(T, B, s.inputSize, 'measure');
    const model = exportInteger(float, calibrate(float, [{ inputs: x, T, B }]), { actBits: 12, weightBits: 8 });
    const tf = timeIt(() => floatForward(float, x, T, B));
    const ti = timeIt(() => runInteger(model, x, T, B));
    const row = [s.label.padEnd(19), kind.padEnd(9), String(B).padStart(3), (B / tf).toFixed(1).padStart(11), (B / ti).toFixed(1).padStart(9), (tf / ti).toFixed(2).padStart(12) + '×'];
    console.log(row.join(' '));
    if (kind === 'hadamrnn') {
      const ops: OpCounts = { add: 0, sub: 0, shift: 0, logic: 0, mul: 0 };
      runInteger(model, x.subarray(0, 10 * B * s.inputSize), 10, B, { countOps: ops });
      const per = (v: number) => (v / (10 * B)).toFixed(0);
      console.log(`    recurrent loop per step and sequence: ${per(ops.add)} add, ${per(ops.sub)} sub, ${per(ops.shift)} shift, ${per(ops.logic)} compare/and, ${ops.mul} mul`);
    }
  }
}
