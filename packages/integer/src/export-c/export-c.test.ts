import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '@orthoquant/runtime';
import { createTask } from '@orthoquant/tasks';
import { randomHadamRnn, randomInputs, randomLstm, randomOrnn } from '../testing.js';
import { calibrate } from '../ptq/calibrate.js';
import { exportInteger } from '../ptq/export.js';
import type { PtqOptions } from '../ptq/export.js';
import { embedTokens, quantizeInputs, tokenInputCodes } from '../engines/common.js';
import { runIntegerCodes } from '../engines/run.js';
import type { FloatModel, IntegerModel } from '../model.js';
import { evaluateInteger, quantizeForTask } from '../evaluate.js';
import { generateC } from './generate.js';
import { compileDemo, findCompiler, logitScales, measureCodeBytes, runCompiled, SANITIZE_FLAGS, STRICT_FLAGS } from './compile.js';
import { matrix, packRows } from './tables.js';

const cc = findCompiler();
// CI installs a C compiler: there a missing one is a failure, elsewhere a skip with the reason.
const skip = cc ? false : process.env.CI ? false : 'no C compiler (cc / $CC) on this machine';
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Case {
  label: string;
  float: FloatModel;
  ptq: PtqOptions;
  /** Std of the float inputs (large values saturate the input codes). */
  std?: number;
  vocab?: number;
}

const CASES: Case[] = [
  { label: 'HadamRNN linear many-to-many a12', float: randomHadamRnn({ n: 32, inputSize: 3, outputSize: 4, seed: 'c/h1' }), ptq: { actBits: 12 } },
  { label: 'HadamRNN relu last a16, 4-bit U', float: randomHadamRnn({ n: 16, inputSize: 5, outputSize: 3, readout: 'last', activation: 'relu', seed: 'c/h2' }), ptq: { actBits: 16, weightBits: 4 }, std: 3 },
  { label: 'HadamRNN a16, 16-bit U (int64 projection)', float: randomHadamRnn({ n: 16, inputSize: 6, outputSize: 2, seed: 'c/h5' }), ptq: { actBits: 16, weightBits: 16 }, std: 3 },
  { label: 'Block-HadamRNN m=8 (two phases) relu a8', float: randomHadamRnn({ n: 32, inputSize: 2, outputSize: 5, blockSize: 8, activation: 'relu', seed: 'c/h3' }), ptq: { actBits: 8, weightBits: 6 } },
  { label: 'Block-HadamRNN m=2 linear a10', float: randomHadamRnn({ n: 24, inputSize: 1, outputSize: 2, blockSize: 2, seed: 'c/h4' }), ptq: { actBits: 10 } },
  // Hadamard orders p·2^k (H_12 ⊗ H_{2^k}): the p × p stage and 1/√m as shifts.
  { label: 'HadamRNN n=96 = 12·8 linear many-to-many a12', float: randomHadamRnn({ n: 96, inputSize: 3, outputSize: 4, seed: 'c/k1' }), ptq: { actBits: 12 } },
  { label: 'Block-HadamRNN m=24 = 12·2 relu last a8', float: randomHadamRnn({ n: 48, blockSize: 24, inputSize: 2, outputSize: 3, readout: 'last', activation: 'relu', seed: 'c/k2' }), ptq: { actBits: 8, weightBits: 6 }, std: 3 },
  { label: 'HadamRNN n=12 (Paley, slices of 1) a16', float: randomHadamRnn({ n: 12, inputSize: 2, outputSize: 2, seed: 'c/k3' }), ptq: { actBits: 16 }, std: 3 },
  { label: 'QORNN 3-bit W (packed) relu last a8', float: randomOrnn({ n: 24, inputSize: 3, outputSize: 4, readout: 'last', activation: 'relu', seed: 'c/o1' }), ptq: { actBits: 8, weightBits: 3 } },
  { label: 'ORNN 16-bit W linear a16 (int64 accumulators)', float: randomOrnn({ n: 32, inputSize: 2, outputSize: 3, seed: 'c/o2' }), ptq: { actBits: 16, weightBits: 16 }, std: 2 },
  { label: 'QORNN 2-bit W a6', float: randomOrnn({ n: 16, inputSize: 4, outputSize: 2, seed: 'c/o3' }), ptq: { actBits: 6, weightBits: 2 } },
  { label: 'integer LSTM many-to-many', float: randomLstm({ n: 16, inputSize: 3, outputSize: 4, seed: 'c/l1' }), ptq: { actBits: 8 }, std: 2 },
  { label: 'integer LSTM last, 1 input', float: randomLstm({ n: 8, inputSize: 1, outputSize: 3, readout: 'last', seed: 'c/l2' }), ptq: { actBits: 8 } },
  { label: 'HadamRNN on tokens (embedding)', float: { ...randomHadamRnn({ n: 16, inputSize: 6, outputSize: 1, readout: 'last', seed: 'c/t1' }), vocabSize: 20, embedding: randomInputs(20, 1, 6, 'c/t1/e') }, ptq: { actBits: 12 }, vocab: 20 },
  { label: 'LSTM on tokens (embedding)', float: { ...randomLstm({ n: 8, inputSize: 4, outputSize: 2, seed: 'c/t2' }), vocabSize: 11, embedding: randomInputs(11, 1, 4, 'c/t2/e') }, ptq: { actBits: 8 }, vocab: 11 },
];

/** The integer model of a case and a batch of its inputs (codes, or token ids). */
function prepare(c: Case, T: number, B: number): { model: IntegerModel; inputs: Int32Array; codes: Int32Array } {
  if (c.vocab !== undefined) {
    const rng = createRng(`${c.label}/tokens`);
    const tokens = Int32Array.from({ length: T * B }, () => Math.floor(rng.uniform() * c.vocab!));
    const x = embedTokens(c.float.embedding!, c.vocab, tokens);
    const model = exportInteger(c.float, calibrate(c.float, [{ inputs: x, T, B }]), c.ptq);
    return { model, inputs: tokens, codes: tokenInputCodes(model, tokens) };
  }
  // Calibrate on milder inputs than those run: the run saturates codes and states too.
  const calib = randomInputs(T, B, c.float.inputSize, `${c.label}/calibration`);
  const model = exportInteger(c.float, calibrate(c.float, [{ inputs: calib, T, B }]), c.ptq);
  const x = randomInputs(T, B, c.float.inputSize, `${c.label}/x`, c.std ?? 1);
  const codes = quantizeInputs(model, x, T, B);
  return { model, inputs: codes, codes };
}

function bitExact(c: Case, flags: string[], T: number, B: number): void {
  const { model, inputs, codes } = prepare(c, T, B);
  const gen = generateC(model, { name: 'net', source: c.label });
  const compiled = compileDemo(gen, { cc: cc!, flags });
  dirs.push(compiled.dir);
  const want = runIntegerCodes(model, codes, T, B);
  const got = runCompiled(compiled, model, inputs, T, B);
  assert.equal(got.logits.length, want.logits.length, c.label);
  for (let i = 0; i < want.logits.length; i++) {
    if (got.logits[i] !== want.logits[i]) assert.fail(`${c.label}: logit ${i} is ${got.logits[i]} in C, ${want.logits[i]} in the JS engine`);
  }
  assert.deepEqual(Array.from(got.logitScales), Array.from(want.logitScales), `${c.label}: logit scales`);
}

describe('export-c: the compiled C equals the JS integer engine bit for bit', { skip }, () => {
  for (const c of CASES) {
    test(`${c.label} (cc ${STRICT_FLAGS.join(' ')})`, () => bitExact(c, STRICT_FLAGS, 40, 6));
  }
  test('the cases cover packed codes, int64 and int32 accumulators, every kind and readout', () => {
    const sources = CASES.map((c) => generateC(prepare(c, 8, 2).model, { name: 'net' }).files['net.c']).join('\n');
    assert.match(sources, /int64_t accx =/, 'a dot product with an int64 accumulator');
    assert.match(sources, /int64_t acc\[/, 'a readout with int64 accumulators');
    assert.match(sources, /int32_t accx =/, 'a dot product with an int32 accumulator');
    assert.match(sources, /int32_t acc\[/, 'a readout with int32 accumulators');
    assert.match(sources, /if \(xd == 0\) continue;/, 'a sparse HadamRNN input projection');
    assert.match(sources, /bits_ \|= /, 'packed codes of a width not dividing 8');
    assert.match(sources, /byte_ >> \(i_ \* 4u\)/, 'packed codes of a width dividing 8');
    assert.match(sources, /net_hp\[hi\] > 0/, 'a HadamRNN with a p x p stage');
    assert.match(sources, /\(int32_t\)\(\(uint32_t\)h\[k\] << \d+\)|OQ_ASR\(h\[k\], \d+\) \+ OQ_ASR/, '1/sqrt(m) as shifted copies');
    assert.deepEqual(new Set(CASES.map((c) => c.float.kind)), new Set(['hadamrnn', 'ornn', 'lstm']));
    assert.deepEqual(new Set(CASES.map((c) => c.float.readout)), new Set(['many-to-many', 'last']));
  });
  test('every kind under AddressSanitizer + UBSan', () => {
    for (const c of CASES) bitExact(c, SANITIZE_FLAGS, 25, 3);
  });
});

test('export-c: files are C99 with only <stdint.h>/<stddef.h>, ASCII, no float, no heap, const tables', () => {
  for (const c of CASES) {
    const { model } = prepare(c, 8, 2);
    const gen = generateC(model, { name: 'tiny_net' });
    const h = gen.files['tiny_net.h'];
    const src = gen.files['tiny_net.c'];
    for (const [file, text] of Object.entries(gen.files)) assert.match(text, /^[\x09\x0a\x20-\x7e]*$/, `${c.label}: ${file} is not ASCII`);
    const includes = (text: string) => [...text.matchAll(/#include\s+(\S+)/g)].map((m) => m[1]);
    assert.deepEqual(includes(h), ['<stddef.h>', '<stdint.h>'], c.label);
    assert.deepEqual(includes(src), ['"tiny_net.h"'], c.label);
    const code = stripComments(src);
    assert.doesNotMatch(code, /\b(float|double|malloc|calloc|realloc|free)\b/, `${c.label}: float or heap in the model code`);
    // File-scope objects are const tables only (no global mutable state).
    for (const m of code.matchAll(/^static\s+(?!const\b)(?!\w+\s+\w+\s*\()(.*)$/gm)) assert.fail(`${c.label}: a mutable static: ${m[0]}`);
    assert.ok(code.includes('static const'), c.label);
    assert.equal(gen.sizes.stateBytes, Number(/#define TINY_NET_STATE_BYTES (\d+)/.exec(h)![1]));
    assert.equal(gen.sizes.weightBytes, Number(/#define TINY_NET_WEIGHT_BYTES (\d+)/.exec(h)![1]));
  }
});

test('export-c: the HadamRNN recurrent step has no multiplication, division or modulo', () => {
  for (const c of CASES.filter((k) => k.float.kind === 'hadamrnn')) {
    const { model } = prepare(c, 8, 2);
    const src = generateC(model, { name: 'hr' }).files['hr.c'];
    const start = src.indexOf('static void hr_recurrent(');
    assert.ok(start >= 0, 'hr_recurrent not found');
    const body = stripComments(src.slice(start, src.indexOf('\n}\n', start) + 2));
    assert.match(body, /h\[j\] = a \+ c;/, 'the butterflies are in the function checked');
    assert.doesNotMatch(body, /[*/%]/, `${c.label}: the recurrent step has a *, / or %:\n${body}`);
    // The macro it uses for shifts is multiplication-free too.
    assert.doesNotMatch(/#define OQ_ASR[^\n]*/.exec(src)![0], /[*/%]/);
  }
});

test('export-c: k-bit codes are packed k bits a code; narrow codes pick the narrowest type', () => {
  const m = matrix('W', Int32Array.from([-4, 3, 0, -1, 2, -3]), 2, 3);
  assert.deepEqual([m.storage, m.width, m.offset, m.rowBytes, m.bytes], ['packed', 3, -4, 2, 4]);
  // Row 0: raw 0, 7, 4 → bits 000 111 001 (LSB first) → bytes 0b00111000, 0b1 ; row 1: raw 3, 6, 1.
  assert.deepEqual(Array.from(packRows(m)), [0b00111000, 0b1, 0b01110011, 0b0]);
  assert.equal(matrix('A', Int32Array.from([-128, 127]), 1, 2).storage, 'int8_t');
  assert.equal(matrix('B', Int32Array.from([-129, 0]), 1, 2).storage, 'int16_t');
  assert.equal(matrix('C', Int32Array.from([40000, 0]), 1, 2).storage, 'int32_t');
  const signs = matrix('S', Int32Array.from([-1, 1, 1, -1]), 1, 4);
  assert.deepEqual([signs.storage, signs.width], ['packed', 2]);
});

test('export-c: sizes and logit scales; unsupported models are refused with the key named', { skip }, () => {
  const { model } = prepare(CASES[0], 8, 2);
  const gen = generateC(model);
  assert.equal(gen.name, 'oqmodel');
  // h and z (n int32 each) and the phase.
  assert.equal(gen.sizes.stateBytes, 4 * (32 + 32 + 1));
  // signs (n bits), U^T, bias, multipliers, V^T, two cLogit rows.
  assert.ok(gen.sizes.weightBytes > 4 + 3 * 32 + 4 * 32, String(gen.sizes.weightBytes));
  const code = measureCodeBytes(gen, { cc: cc! });
  assert.ok(code !== null && code > 200 && code < 20000, `code bytes ${code}`);
  const scales = logitScales(model, 3);
  if (model.kind !== 'hadamrnn') assert.fail('expected a HadamRNN');
  assert.deepEqual(Array.from(scales), [1, 0, 1].map((p) => model.V.scale * model.stateScales[p]));
  assert.throws(() => generateC(model, { name: '1bad-name' }), /--name: expected a C identifier/);
  assert.throws(() => generateC({ ...model, blockSize: 2 ** 20, n: 2 ** 20 }), /model\.blockSize: blockSize 1048576 with 12-bit states can overflow int32/);
  assert.throws(() => generateC({ ...model, stepShifts: [3, 40] }), /model\.stepShifts\[1\]: expected a shift in 0\.\.31, got 40/);
});

test('export-c: the demo reads a file, prints predictions, refuses bad data', { skip }, () => {
  const c = CASES.find((k) => k.label.startsWith('QORNN 3-bit'))!; // readout last, 3 inputs, 4 outputs
  const T = 5;
  const { model, inputs } = prepare(c, T, 2);
  const compiled = compileDemo(generateC(model, { name: 'demo' }), { cc: cc! });
  dirs.push(compiled.dir);
  const want = runIntegerCodes(model, inputs, T, 2);
  // Sequence-major int32 LE file.
  const buf = Buffer.alloc(4 * inputs.length);
  let o = 0;
  for (let b = 0; b < 2; b++) for (let t = 0; t < T; t++) for (let d = 0; d < 3; d++, o += 4) buf.writeInt32LE(inputs[(t * 2 + b) * 3 + d], o);
  const file = join(compiled.dir, 'seqs.bin');
  writeFileSync(file, buf);
  const r = spawnSync(compiled.binary, [String(T), file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  for (let b = 0; b < 2; b++) {
    const logits = Array.from(want.logits.subarray(b * 4, b * 4 + 4));
    const pred = logits.indexOf(Math.max(...logits));
    assert.equal(lines[b], `${b} ${T - 1} ${pred} ${logits.join(' ')}`);
  }
  const q = spawnSync(compiled.binary, ['-q', String(T)], { input: buf, encoding: 'utf8' });
  assert.equal(q.stdout, '2 sequences\n');
  const truncated = spawnSync(compiled.binary, [String(T)], { input: buf.subarray(0, buf.length - 4), encoding: 'utf8' });
  assert.equal(truncated.status, 1);
  assert.match(truncated.stderr, /sequence 1 is truncated at step 4 \(expected 5 steps of 3 int32 values\)/);
  const bad = Buffer.from(buf);
  bad.writeInt32LE(1000, 0);
  const range = spawnSync(compiled.binary, [String(T)], { input: bad, encoding: 'utf8' });
  assert.equal(range.status, 1);
  assert.match(range.stderr, /sequence 0, step 0: input out of range \(codes in \[-128, 127\]\)/);
  const usage = spawnSync(compiled.binary, ['x'], { encoding: 'utf8' });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /T: expected an integer >= 1, got 'x'/);
});

const armCc = spawnSync('arm-none-eabi-gcc', ['--version']).status === 0;
test('export-c: every kind cross-compiles for a Cortex-M4 (arm-none-eabi-gcc, strict flags)', { skip: armCc ? false : 'arm-none-eabi-gcc not installed (Debian: gcc-arm-none-eabi)' }, () => {
  for (const c of CASES) {
    const gen = generateC(prepare(c, 8, 2).model, { name: 'mcu' });
    const code = measureCodeBytes(gen, { cc: 'arm-none-eabi-gcc', size: 'arm-none-eabi-size', flags: ['-mcpu=cortex-m4', '-mthumb', '-pedantic', '-Wall', '-Wextra', '-Werror'] });
    assert.ok(code !== null && code > 100, `${c.label}: arm-none-eabi-gcc failed or no .text (${code})`);
  }
});

test('evaluateInteger with the compiled C engine measures the same loss and accuracy as the JS engine', { skip }, () => {
  const task = createTask({ name: 'copy', T: 20, K: 3, trainSize: 64, valSize: 32, testSize: 32 });
  const float = randomHadamRnn({ n: 16, inputSize: task.inputDim, outputSize: task.outputDim, blockSize: 8, seed: 'c/eval' });
  const { model } = quantizeForTask(float, task, { actBits: 10, calibrationBatches: 2, batchSize: 16 });
  const compiled = compileDemo(generateC(model), { cc: cc! });
  dirs.push(compiled.dir);
  const js = evaluateInteger(model, task, 'test', { batchSize: 10, limit: 25 });
  const c = evaluateInteger(model, task, 'test', { batchSize: 10, limit: 25, engine: (x, T, B) => runCompiled(compiled, model, x, T, B) });
  assert.equal(c.sequences, 25);
  assert.deepEqual(c.metrics, js.metrics);
});

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}
