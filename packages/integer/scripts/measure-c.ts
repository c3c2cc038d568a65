/**
 * The exported C next to the JS integer engine: flash and RAM bytes, and sequences/s, at the
 * copy-task shape (n = 128, T = 1000, 10 inputs, 9 outputs every step) and the pMNIST shape
 * (n = 512, T = 784, 1 input, 10 outputs at the last step), HadamRNN (binary W, 4-bit U/V,
 * 12-bit activations), random weights (speed does not depend on training), task-like inputs.
 *
 *   node --conditions=@orthoquant/source --import tsx packages/integer/scripts/measure-c.ts [--quick]
 *
 * JS: `runIntegerCodes` on input codes (median of 3 after a warm-up). C: the demo built with
 * `cc -std=c99 -O2`, run with `-q` on a file of B sequences (process start-up included; median
 * of 3); wall-clock rates and rates per CPU-second (user + system: fairer on a busy machine). Code bytes: `.text` of the model object at -Os on this host and, when
 * arm-none-eabi-gcc is installed, for a Cortex-M4 (thumb). The C logits of the first sequences
 * are checked against the JS engine first.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { calibrate, compileDemo, exportInteger, generateC, measureCodeBytes, quantizeInputs, runCompiled, runIntegerCodes, STRICT_FLAGS } from '../src/index.js';
import type { FloatModel } from '../src/index.js';
import { randomHadamRnn, taskLikeInputs } from '../src/testing.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 1 : 3;

/** Median wall and CPU seconds of `fn` (which may return the CPU seconds of a child process). */
function median(fn: () => number | void): { wall: number; cpu: number } {
  fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const child = fn();
    const c = process.cpuUsage(c0);
    wall.push((performance.now() - t0) / 1000);
    cpu.push(typeof child === 'number' ? child : (c.user + c.system) / 1e6);
  }
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { wall: mid(wall), cpu: mid(cpu) };
}

const SHAPES = [
  { label: 'copy   n=128 T=1000', n: 128, T: 1000, inputSize: 10, outputSize: 9, readout: 'many-to-many' as const, Bjs: 8, Bc: 64 },
  { label: 'pMNIST n=512 T=784', n: 512, T: 784, inputSize: 1, outputSize: 10, readout: 'last' as const, Bjs: 8, Bc: 64 },
];

console.log(`node ${process.version}; sequences/s (median of ${RUNS} after a warm-up); load average at start: ${(await import('node:os')).loadavg().map((v) => v.toFixed(2)).join(' ')}`);
for (const s of SHAPES) {
  const T = quick ? Math.min(s.T, 100) : s.T;
  const float: FloatModel = { ...randomHadamRnn({ n: s.n, inputSize: s.inputSize, outputSize: s.outputSize, readout: s.readout, seed: s.label }), bits: { U: 4, V: 4 } };
  const calib = taskLikeInputs(T, 8, s.inputSize, 'calibration');
  const model = exportInteger(float, calibrate(float, [{ inputs: calib, T, B: 8 }]), { actBits: 12 });
  const gen = generateC(model, { name: 'net', source: `random HadamRNN, ${s.label}` });
  const compiled = compileDemo(gen, { flags: STRICT_FLAGS });
  // Bit-exact check on a few sequences before timing.
  const xCheck = quantizeInputs(model, taskLikeInputs(T, 4, s.inputSize, 'check'), T, 4);
  const want = runIntegerCodes(model, xCheck, T, 4).logits;
  const got = runCompiled(compiled, model, xCheck, T, 4).logits;
  const same = got.length === want.length && got.every((v, i) => v === want[i]);
  const xjs = quantizeInputs(model, taskLikeInputs(T, s.Bjs, s.inputSize, 'measure'), T, s.Bjs);
  const tJs = median(() => {
    runIntegerCodes(model, xjs, T, s.Bjs);
  });
  const xc = quantizeInputs(model, taskLikeInputs(T, s.Bc, s.inputSize, 'measure-c'), T, s.Bc);
  const buf = Buffer.alloc(4 * xc.length);
  for (let b = 0, o = 0; b < s.Bc; b++) for (let t = 0; t < T; t++) for (let d = 0; d < s.inputSize; d++, o += 4) buf.writeInt32LE(xc[(t * s.Bc + b) * s.inputSize + d], o);
  const file = join(compiled.dir, 'seqs.bin');
  writeFileSync(file, buf);
  const tC = median(() => {
    // /usr/bin/time reports the child's user + system CPU seconds on stderr.
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S', compiled.binary, '-q', String(T), file], { encoding: 'utf8' });
    if (r.stdout !== `${s.Bc} sequences\n`) throw new Error(`demo: ${r.stdout} ${r.stderr}`);
    const [u, sys] = r.stderr.trim().split(/\s+/).slice(-2).map(Number);
    return u + sys;
  });
  const host = measureCodeBytes(gen);
  const arm = measureCodeBytes(gen, { cc: 'arm-none-eabi-gcc', size: 'arm-none-eabi-size', flags: ['-mcpu=cortex-m4', '-mthumb'] });
  console.log(`${s.label}: C logits ${same ? 'equal' : 'DIFFER from'} the JS engine's`);
  console.log(`  flash: ${gen.sizes.weightBytes} B const tables + code ${host} B (x86-64 -Os)${arm !== null ? ` / ${arm} B (Cortex-M4 thumb -Os)` : ''}; RAM: ${gen.sizes.stateBytes} B state+scratch`);
  const rate = (B: number, t: { wall: number; cpu: number }) => `${(B / t.wall).toFixed(1)} seq/s wall, ${(B / t.cpu).toFixed(1)} per CPU-second`;
  console.log(`  JS integer engine (B=${s.Bjs}): ${rate(s.Bjs, tJs)}`);
  console.log(`  C, ${STRICT_FLAGS.join(' ')} (B=${s.Bc}, one process): ${rate(s.Bc, tC)}`);
  console.log(`  C / JS: ${((s.Bc / tC.wall) / (s.Bjs / tJs.wall)).toFixed(1)}× wall, ${((s.Bc / tC.cpu) / (s.Bjs / tJs.cpu)).toFixed(1)}× CPU`);
}
