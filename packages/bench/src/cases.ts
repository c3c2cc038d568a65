/**
 * The cases of issue 13 (and the inference, sweep and floor cases before it) and how one case
 * runs inside its own child process.
 * Each runner returns the timings; the parent adds the process's peak RSS. The integer engines
 * and the sweep (store, SQLite, queue) are imported by the cases that use them only: a training
 * case's peak RSS is then that of a training process, not of every package at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { tf, initBackend, createRng } from '@orthoquant/runtime';
import { timeTrainingSteps } from '@orthoquant/train';
import { bytesKeptForBackwardInChild } from './kept.js';
import { kernelInfo } from '@orthoquant/kernels';
import type { FloatModel } from '@orthoquant/integer';
import type { CaseGroup, CaseResult, KernelRecord, Shape } from './report.js';
import { median } from './stats.js';

export interface RunContext {
  quick: boolean;
  reps: number;
  warmup: number;
}

/** What a child reports (the parent adds name, group, label and RSS). */
export interface CaseMeasurement {
  times: number[];
  shape: Shape | null;
  throughput?: { value: number; unit: string } | null;
  notes?: string[];
  /** The kernels that ran (implementation, instruction set, threads; why not native). */
  kernel?: KernelRecord;
  /** Bytes of tensors the training step keeps for backward, MB. */
  keptMB?: number | null;
}

export interface PeerSpec {
  mode: 'hadamrnn-paper' | 'fused-tanh' | 'fused-relu' | 'loop-linear' | 'lstm';
  input: number;
  classes: number;
  readout: 'all' | 'last';
}

export interface BenchCase {
  name: string;
  group: CaseGroup;
  label: string;
  shape(quick: boolean): Shape;
  /** Runs in the child (absent for peer cases). */
  run?(ctx: RunContext): Promise<CaseMeasurement>;
  /** PyTorch peer cases: the arguments of benchmarks/peers/torch_rnn.py. */
  peer?: PeerSpec;
  peers?: CaseResult['peers'];
}

const COPY: Shape = { n: 128, B: 128, T: 1000 };
const COPY_QUICK: Shape = { n: 32, B: 16, T: 50 };
const PMNIST: Shape = { n: 512, B: 100, T: 784 };
/** Quick pMNIST: 28 pixels per step (T = 28), input 28. */
const PMNIST_QUICK: Shape = { n: 64, B: 16, T: 28 };

const copyShape = (q: boolean) => (q ? COPY_QUICK : COPY);
const pmnistShape = (q: boolean) => (q ? PMNIST_QUICK : PMNIST);

function copyTask(s: Shape): Record<string, unknown> {
  return { name: 'copy', T: s.T, K: 10, lengthConvention: 'total', trainSize: s.B, valSize: s.B, testSize: s.B };
}
function pmnistTask(s: Shape, quick: boolean): Record<string, unknown> {
  return { name: 'pmnist', pixelsPerStep: quick ? 28 : 1, trainSize: s.B, valSize: s.B, testSize: s.B };
}

function trainCase(
  name: string, group: 'train-copy' | 'train-pmnist', label: string, model: (n: number) => Record<string, unknown>, peers: CaseResult['peers'],
  shapeOf?: (quick: boolean) => Shape,
): BenchCase {
  const shape = shapeOf ?? (group === 'train-copy' ? copyShape : pmnistShape);
  return {
    name,
    group,
    label,
    shape,
    peers,
    async run(ctx) {
      const s = shape(ctx.quick);
      const task = group === 'train-copy' ? copyTask(s) : pmnistTask(s, ctx.quick);
      const trial = { task, model: model(s.n), batchSize: s.B, optimizer: { name: 'adam', lr: 1e-4 } };
      const r = await timeTrainingSteps(trial, { steps: ctx.reps, warmup: ctx.warmup });
      // Tensor bytes the step keeps for backward, measured in a process of its own.
      const kept = bytesKeptForBackwardInChild(trial);
      const dense = ['ornn', 'qornn'].includes(String(model(s.n).type));
      return { times: r.seconds, shape: s, notes: [`model ${JSON.stringify(model(s.n))}`], kernel: kernelRecord(dense), keptMB: kept / 1e6 };
    },
  };
}

/**
 * The scan kernels in use in this process (@orthoquant/kernels), for the case's record; `dense`:
 * the case trains a dense recurrence, whose fused step may run its products on another
 * instruction set (AVX-512), which the record then names.
 */
function kernelRecord(dense = false): KernelRecord {
  const k = kernelInfo();
  const simd = dense && k.denseSimd !== k.simd ? `${k.simd}, dense products ${k.denseSimd}` : k.simd;
  return { implementation: k.implementation, simd, threads: k.threads, ...(k.reason ? { reason: k.reason } : {}) };
}

const COPY_PEERS = { paper: 'torch-copy-hadamrnn-paper', fused: ['torch-copy-fused-tanh', 'torch-copy-fused-relu'] };
const PMNIST_PEERS = { paper: 'torch-pmnist-hadamrnn-paper', fused: ['torch-pmnist-fused-tanh', 'torch-pmnist-fused-relu'] };
/** Models other than HadamRNN: nn.RNN only (the paper-style peer is the HadamRNN model). */
const COPY_RNN_PEERS = { fused: COPY_PEERS.fused };

/**
 * The floor: a linear RNN trained with one tfjs op per time step (forward, readout and the
 * tape's backward), the way the code looked before the fused scans. T is reduced to 100 in a
 * full run (at T = 1000 it costs minutes per iteration on wasm); the output says so.
 */
export const FLOOR_T = 100;
async function runFloor(ctx: RunContext): Promise<CaseMeasurement> {
  await initBackend();
  const full = copyShape(ctx.quick);
  const s: Shape = { ...full, T: ctx.quick ? full.T : FLOOR_T };
  const D = 10;
  const C = 9;
  const rng = createRng('bench-floor');
  const U = tf.variable(tf.tensor2d(rng.normalArray(D * s.n, 1 / Math.sqrt(D)), [D, s.n]));
  const W = tf.variable(tf.tensor2d(rng.normalArray(s.n * s.n, 1 / Math.sqrt(s.n)), [s.n, s.n]));
  const b = tf.variable(tf.zeros([s.n]));
  const V = tf.variable(tf.tensor2d(rng.normalArray(s.n * C, 1 / Math.sqrt(s.n)), [s.n, C]));
  const c = tf.variable(tf.zeros([C]));
  const xs: tf.Tensor2D[] = [];
  const ys: tf.Tensor2D[] = [];
  for (let t = 0; t < s.T; t++) {
    const x = new Float32Array(s.B * D);
    const y = new Float32Array(s.B * C);
    for (let i = 0; i < s.B; i++) {
      x[i * D + rng.int(D)] = 1;
      y[i * C + rng.int(C)] = 1;
    }
    xs.push(tf.tensor2d(x, [s.B, D]));
    ys.push(tf.tensor2d(y, [s.B, C]));
  }
  const opt = tf.train.adam(1e-4);
  const step = () => {
    const cost = opt.minimize(() => {
      let h = tf.zeros([s.B, s.n]) as tf.Tensor2D;
      let loss = tf.scalar(0);
      for (let t = 0; t < s.T; t++) {
        h = tf.add(tf.add(tf.matMul(h, W, false, true), tf.matMul(xs[t], U)), b);
        const logits = tf.add(tf.matMul(tf.relu(h), V), c);
        loss = tf.add(loss, tf.losses.softmaxCrossEntropy(ys[t], logits));
      }
      return tf.div(loss, s.T) as tf.Scalar;
    }, true);
    cost?.dispose();
  };
  for (let i = 0; i < ctx.warmup; i++) step();
  const times: number[] = [];
  for (let i = 0; i < ctx.reps; i++) {
    const t0 = performance.now();
    step();
    times.push((performance.now() - t0) / 1000);
  }
  const notes = [`per-step tfjs ops (matMul, add, relu, softmax CE per step; tape backward), backend ${tf.getBackend()}`];
  const kernel: KernelRecord = { implementation: `tfjs ${tf.getBackend()}`, simd: 'none', threads: 1 };
  if (s.T !== full.T) notes.push(`REDUCED to T=${s.T} (full T=${full.T} takes minutes); scaled to T=${full.T}: ≈ ${((times.reduce((a, x) => a + x, 0) / times.length) * (full.T / s.T)).toFixed(1)} s per iteration (linear in T)`);
  return { times, shape: s, notes, kernel };
}

/**
 * Inference: sequences/s of one engine on one model (random weights: speed does not depend on
 * training; one-hot inputs; single thread). Engines: the float reference (`floatForward`, JS,
 * float64) or its native float32 twin (`floatForwardNative`), and the integer-only engine
 * (`runInteger`: input quantization, projection, recurrence, readout) in JS or native. A native
 * case without the addon runs the JS engine and says so (its kernel record is then 'js').
 */
export type InferenceEngine = 'float-js' | 'float-native' | 'integer-js' | 'integer-native';

function inferenceCase(kind: 'hadamrnn' | 'dense', engine: InferenceEngine, actBits = 12): BenchCase {
  const shape = (q: boolean): Shape => (q ? { n: 32, B: 4, T: 50 } : { n: 128, B: 8, T: 1000 });
  const [number, where] = engine.split('-') as ['float' | 'integer', 'js' | 'native'];
  // 12-bit activations are the headline width and carry no suffix.
  const width = actBits === 12 ? null : actBits;
  return {
    // infer-float-hadamrnn, infer-int-dense-native, infer-int-hadamrnn-native-8b, …
    name: `infer-${number === 'float' ? 'float' : 'int'}-${kind}${where === 'native' ? '-native' : ''}${width ? `-${width}b` : ''}`,
    group: 'inference',
    label: `${number === 'float' ? 'float' : 'integer-only'} ${kind === 'hadamrnn' ? 'HadamRNN' : 'dense ORNN'}, ${where === 'js' ? 'JS' : 'native'} engine${width ? `, ${width}-bit activations` : ''}`,
    shape,
    async run(ctx) {
      const { calibrate, exportInteger, floatForward, floatForwardNative, integerEngineInfo, runInteger, setIntegerEngine } = await import('@orthoquant/integer');
      const { randomHadamRnn, randomOrnn } = await import('@orthoquant/integer/testing');
      const s = shape(ctx.quick);
      const D = 10;
      const base = { n: s.n, inputSize: D, outputSize: 9, readout: 'many-to-many' as const, seed: 'bench' };
      const float: FloatModel = kind === 'hadamrnn' ? { ...randomHadamRnn(base), bits: { U: 4, V: 4 } } : randomOrnn(base);
      const rng = createRng('bench-inputs');
      const x = new Float32Array(s.T * s.B * D);
      for (let r = 0; r < s.T * s.B; r++) x[r * D + rng.int(D)] = 1;
      let fn: () => void;
      let kernel: KernelRecord = { implementation: 'js', simd: 'none', threads: 1 };
      const notes: string[] = [];
      if (engine === 'float-js' || engine === 'float-native') {
        const nativeOk = engine === 'float-native' && float.kind === 'hadamrnn' && floatForwardNative(float, x.subarray(0, D * s.B), 1, s.B) !== null;
        if (nativeOk && float.kind === 'hadamrnn') {
          fn = () => void floatForwardNative(float, x, s.T, s.B);
          kernel = { implementation: 'native', simd: integerEngineInfo().simd, threads: 1 };
          notes.push('float32 native engine (floatForwardNative: SIMD Walsh–Hadamard, vectorised readout)');
        } else {
          fn = () => void floatForward(float, x, s.T, s.B);
          notes.push('float reference engine (floatForward: JS loops, float64)');
          if (engine === 'float-native') {
            kernel.reason = 'native kernels not available';
            notes.push('FELL BACK TO JS: the native kernels are not available');
          }
        }
      } else {
        const model = exportInteger(float, calibrate(float, [{ inputs: x, T: s.T, B: s.B }]), { actBits, weightBits: 8 });
        setIntegerEngine(engine === 'integer-native' ? 'auto' : 'js');
        const probe = runInteger(model, x, s.T, s.B);
        const ran = probe.engine ?? 'js';
        fn = () => void runInteger(model, x, s.T, s.B);
        // Which lanes the native HadamRNN step ran on (a row takes int16 lanes when its step provably fits int16).
        const lanes = probe.int16Steps === undefined ? '' : probe.int16Steps === s.T * s.B ? 'int16 lanes on every step' : probe.int16Steps === 0 ? 'an int32 tail on every step (m·2^(b−1) + |z| exceeds int16), after the transform stages that provably fit on int16 lanes' : `int16 lanes on ${((100 * probe.int16Steps) / (s.T * s.B)).toFixed(0)}% of row-steps, int32 on the rest`;
        const nativeNote = kind === 'hadamrnn' ? `native (multiplication-free SIMD recurrence, ${lanes})` : 'native (integer SIMD products, 16-bit operands where a bound proves the sums exact)';
        notes.push(`integer-only engine (runInteger: input quantization, projection, recurrence, readout), ${ran === 'native' ? nativeNote : 'JS'}, ${actBits}-bit activations` + (kind === 'hadamrnn' ? ', 4-bit U/V' : ', 8-bit W/U/V'));
        if (ran === 'native') kernel = { implementation: 'native', simd: integerEngineInfo().simd, threads: 1 };
        else if (engine === 'integer-native') {
          kernel.reason = integerEngineInfo().reason ?? 'native engine not available';
          notes.push(`FELL BACK TO JS: ${kernel.reason}`);
        }
      }
      // A timed run repeats the pass until it lasts ≥ 50 ms (the native engines take ~1 ms a pass,
      // which one scheduler hiccup would double); its time is per pass.
      let t = performance.now();
      for (let i = 0; i < ctx.warmup; i++) fn();
      const once = Math.max(1e-6, (performance.now() - t) / 1000 / Math.max(1, ctx.warmup));
      const passes = Math.max(1, Math.min(1000, Math.ceil(0.05 / once)));
      const times: number[] = [];
      for (let i = 0; i < ctx.reps; i++) {
        t = performance.now();
        for (let k = 0; k < passes; k++) fn();
        times.push((performance.now() - t) / 1000 / passes);
      }
      const med = median(times);
      notes.push(`random weights (speed does not depend on training), one-hot inputs, single thread; times per pass, each timed run ${passes} pass${passes > 1 ? 'es' : ''}`);
      return { times, shape: s, throughput: { value: s.B / med, unit: 'sequences/s' }, notes, kernel };
    },
  };
}

/** Sweep throughput: the same small sweep with 1 and with 2 worker processes, fresh store each run. */
function sweepCase(workers: number): BenchCase {
  const TRIALS = 4;
  return {
    name: `sweep-${workers}w`,
    group: 'sweep',
    label: `sweep, ${workers} worker${workers > 1 ? 's' : ''}, ${TRIALS} trials`,
    shape: (q) => (q ? { n: 8, B: 8, T: 10 } : { n: 32, B: 32, T: 50 }),
    async run(ctx) {
      const { parseSweepText, runSweep } = await import('@orthoquant/sweep');
      const { FAKE_TRAINER } = await import('@orthoquant/sweep/testing');
      const real = !ctx.quick;
      const yaml = real
        ? `name: bench-sweep
method: grid
base:
  batchSize: 32
  task: { name: copy, T: 50, K: 10, lengthConvention: total, trainSize: 640, valSize: 64, testSize: 64 }
  budget: { epochs: 1, steps: 20 }
  optimizer: { name: adam, lr: 0.002 }
parameters:
  model:
    values:
      - { type: hadamrnn, hidden: 32, bits: 4 }
      - { type: ornn, hidden: 32, orthogonal: expMap }
seeds: [0, 1]
`
        : `name: bench-sweep
parameters:
  id: { values: [a, b] }
  steps: { value: 5 }
  stepMs: { value: 20 }
seeds: [0, 1]
`;
      const spec = parseSweepText(yaml);
      const times: number[] = [];
      for (let i = 0; i < ctx.warmup + ctx.reps; i++) {
        const dir = mkdtempSync(join(tmpdir(), 'orthoquant-bench-sweep-'));
        try {
          const t0 = performance.now();
          const r = await runSweep({ spec, dbPath: join(dir, 'bench.db'), workers, runnerModule: real ? '@orthoquant/train' : FAKE_TRAINER, logFile: join(dir, 'sweep.jsonl') });
          const dt = (performance.now() - t0) / 1000;
          if (r.done !== TRIALS) throw new Error(`sweep: ${r.done}/${TRIALS} trials done, ${r.failed} failed: ${r.failures.map((f) => f.error).join('; ')}`);
          if (i >= ctx.warmup) times.push(dt);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
      const med = median(times);
      return {
        times,
        shape: null,
        throughput: { value: (TRIALS / med) * 60, unit: 'trials/min' },
        // The workers load the same kernels; each gets ⌊cores / workers⌋ threads unless ORTHOQUANT_THREADS is set.
        kernel: { ...kernelRecord(), threads: `${workers} worker${workers > 1 ? 's' : ''}` },
        notes: [real ? `real trainer (@orthoquant/train), ${TRIALS} trials: copy T=50, hidden 32, HadamRNN + ORNN × 2 seeds, 20 steps + eval each; time includes worker start-up` : `fake trainer (no tensors), ${TRIALS} trials × 5 steps × 20 ms`, 'peak RSS is the coordinator\'s only'],
      };
    },
  };
}

/**
 * The paper-style PyTorch HadamRNN (a Python loop over T) is timed at the full T. If a machine
 * makes that impractical, PEER_LOOP_T caps it and the ratios scale its time linearly to the full
 * T (favouring PyTorch); RESULTS.md says so in the case's label.
 */
export const PEER_LOOP_T = 1000;

function peerCase(name: string, group: 'copy' | 'pmnist', mode: PeerSpec['mode'], label: string): BenchCase {
  const full = group === 'copy' ? copyShape : pmnistShape;
  const loop = mode === 'hadamrnn-paper' || mode === 'loop-linear';
  const reduced = (q: boolean) => loop && !q && full(q).T > PEER_LOOP_T;
  return {
    name,
    group: 'peer',
    label: reduced(false) ? `${label}, REDUCED to T=${PEER_LOOP_T} (ratios scale it to the full T)` : label,
    shape: (q) => (reduced(q) ? { ...full(q), T: PEER_LOOP_T } : full(q)),
    peer: group === 'copy' ? { mode, input: 10, classes: 9, readout: 'all' } : { mode, input: 1, classes: 10, readout: 'last' },
  };
}

export const CASES: BenchCase[] = [
  {
    name: 'baseline',
    group: 'baseline',
    label: 'node process with a training case\'s imports loaded (runtime, kernels, models, tasks, train) and the tfjs backend initialised, no work',
    shape: () => ({ n: 0, B: 0, T: 0 }),
    async run() {
      await initBackend();
      return { times: [0], shape: null, notes: ['the floor of every case\'s peak RSS'] };
    },
  },
  trainCase('copy-hadamrnn', 'train-copy', 'HadamRNN (4-bit U/V)', (n) => ({ type: 'hadamrnn', hidden: n, bits: 4 }), COPY_PEERS),
  // Memory independent of T: the same model at T = 10,000 (no peer: the peers run T = 1000).
  trainCase('copy-hadamrnn-t10k', 'train-copy', 'HadamRNN (4-bit U/V), T = 10,000', (n) => ({ type: 'hadamrnn', hidden: n, bits: 4 }), {}, (q) => (q ? { ...COPY_QUICK, T: 10 * COPY_QUICK.T } : { ...COPY, T: 10_000 })),
  // Hadamard orders that are not powers of two (issue 15): n = 96 = 12·8 and 192 = 12·16, H_12 ⊗ H_{2^k}: the fast
  // WHT of each 2^k-slice + a 12×12 ±1 stage (native/kron.cc) in the same fused loss; compare with copy-hadamrnn (n = 128).
  trainCase('copy-hadamrnn-n96', 'train-copy', 'HadamRNN n = 96 = 12·8 (4-bit U/V, Kronecker order)', (n) => ({ type: 'hadamrnn', hidden: n, bits: 4 }), {}, (q) => (q ? { ...COPY_QUICK, n: 24 } : { ...COPY, n: 96 })),
  trainCase('copy-hadamrnn-n192', 'train-copy', 'HadamRNN n = 192 = 12·16 (4-bit U/V, Kronecker order)', (n) => ({ type: 'hadamrnn', hidden: n, bits: 4 }), {}, (q) => (q ? { ...COPY_QUICK, n: 48 } : { ...COPY, n: 192 })),
  trainCase('copy-block-hadamrnn', 'train-copy', 'Block-HadamRNN (m=32, 4-bit U/V)', (n) => ({ type: 'hadamrnn', hidden: n, blockSize: Math.min(32, n), bits: 4 }), COPY_PEERS),
  trainCase('copy-qornn', 'train-copy', 'dense QORNN STE-Björck (4 bits)', (n) => ({ type: 'qornn', hidden: n, strategy: 'ste-bjorck', bits: 4 }), COPY_RNN_PEERS),
  trainCase('copy-ornn', 'train-copy', 'float ORNN (exp map)', (n) => ({ type: 'ornn', hidden: n, orthogonal: 'expMap' }), COPY_RNN_PEERS),
  trainCase('copy-lstm', 'train-copy', 'LSTM', (n) => ({ type: 'lstm', hidden: n }), { lstm: 'torch-copy-lstm' }),
  trainCase('pmnist-hadamrnn', 'train-pmnist', 'HadamRNN (4-bit U/V)', (n) => ({ type: 'hadamrnn', hidden: n, bits: 4 }), PMNIST_PEERS),
  // The pMNIST size grid between 256 and 512 (issue 15): n = 384 = 12·32 on the reversible scan with the p-stage.
  trainCase('pmnist-hadamrnn-n384', 'train-pmnist', 'HadamRNN n = 384 = 12·32 (4-bit U/V, Kronecker order)', (n) => ({ type: 'hadamrnn', hidden: n, bits: 4 }), {}, (q) => (q ? { ...PMNIST_QUICK, n: 48 } : { ...PMNIST, n: 384 })),
  trainCase('pmnist-qornn', 'train-pmnist', 'dense QORNN STE-Björck (4 bits)', (n) => ({ type: 'qornn', hidden: n, strategy: 'ste-bjorck', bits: 4 }), { fused: PMNIST_PEERS.fused }),
  { name: 'floor-tfjs-loop', group: 'floor', label: 'linear RNN, tfjs op per step (copy shape)', shape: (q) => (q ? COPY_QUICK : { ...COPY, T: FLOOR_T }), run: runFloor },
  inferenceCase('hadamrnn', 'float-js'),
  inferenceCase('hadamrnn', 'integer-js'),
  inferenceCase('hadamrnn', 'float-native'),
  inferenceCase('hadamrnn', 'integer-native'),
  // The same model at the papers' other activation widths (the 12-bit row above is the headline; each width is judged on its own).
  ...[6, 8, 10].map((bits) => inferenceCase('hadamrnn', 'integer-native', bits)),
  inferenceCase('dense', 'float-js'),
  inferenceCase('dense', 'integer-js'),
  inferenceCase('dense', 'integer-native'),
  sweepCase(1),
  sweepCase(2),
  ...(['copy', 'pmnist'] as const).flatMap((g) => {
    const task = g === 'copy' ? 'copy' : 'pMNIST';
    return [
      peerCase(`torch-${g}-hadamrnn-paper`, g, 'hadamrnn-paper', `torch HadamRNN as the papers' code writes it ${g === 'copy' ? '(copy): dense binary W from the signs, 4-bit U/V with STE, Python loop over T, CE over all steps, Adam' : '(pMNIST, last-step readout)'}`),
      ...(['tanh', 'relu'] as const).map((a) => peerCase(`torch-${g}-fused-${a}`, g, `fused-${a}`, `torch nn.RNN ${a === 'tanh' ? 'tanh' : 'ReLU'} (${task}) — different algorithm (dense tanh/ReLU)`)),
      ...(g === 'copy' ? [peerCase('torch-copy-lstm', 'copy', 'lstm', 'torch nn.LSTM (copy)')] : []),
    ];
  }),
];

export const CASE_NAMES = CASES.map((c) => c.name);

export function findCase(name: string): BenchCase {
  const c = CASES.find((x) => x.name === name);
  if (!c) throw new Error(`unknown case '${name}'`);
  return c;
}
