/**
 * The two builds of the native addon (binding.gyp: baseline, and -mavx2 -mfma on x64) compute the
 * same thing: every native op on random inputs, both builds, compared within float tolerance (FMA
 * contraction and the vectorised tanh/exp change the last bits, nothing more). Also: the build
 * that runs is the one ORTHOQUANT_ISA asks for, checked in child processes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRng } from '@orthoquant/runtime';
import { expectArraysClose } from '@orthoquant/runtime/testing';
import { loadNativeIsa, packageRoot } from './native.js';
import type { NativeLoad } from './native.js';
import { ACTIVATIONS } from './scan-spec.js';
import type { ScanSpec } from './scan-spec.js';
import { paley1, randomOrthogonal, randomSigns } from './testing.js';

const native = process.env.ORTHOQUANT_KERNELS_NATIVE !== '0';
const base = native ? loadNativeIsa('baseline') : null;
const avx2 = native && base?.impl ? loadNativeIsa('avx2') : null;

function normal(len: number, seed: string, std = 1): Float32Array {
  return Float32Array.from(createRng(seed).normalArray(len, std));
}

function close(a: Float32Array | null, b: Float32Array | null, what: string): void {
  assert.equal(a === null, b === null, `${what}: present in one build only`);
  if (a && b) expectArraysClose(a, b, 1e-5, 1e-4, what);
}

/** Every native op on the same random inputs; returns its outputs by name. */
function runAll(nat: NativeLoad, threads: number): Map<string, Float32Array | number | null> {
  const out = new Map<string, Float32Array | number | null>();
  const T = 7;
  const B = 5;
  // m = 24 = 12·2: a Kronecker order (kron.cc's p-stage after the fast WHT).
  for (const [kind, n, m] of [['dense', 24, 24], ['hadamard', 32, 32], ['hadamard', 32, 8], ['hadamard', 48, 24]] as const) {
    for (const activation of ACTIVATIONS) {
      const spec: ScanSpec = { kind, activation, T, B, n, blockSize: m, ...(m === 24 && kind === 'hadamard' ? { p: 12, hp: paley1(11) } : {}) };
      const key = `${kind} n=${n} m=${m} ${activation}`;
      const inp = {
        z: normal(T * B * n, `${key}/z`),
        w: kind === 'dense' ? Float32Array.from(randomOrthogonal(n, `${key}/W`)) : normal(n, `${key}/s`),
        h0: normal(B * n, `${key}/h0`),
        bias: activation === 'modrelu' ? normal(n, `${key}/b`, 0.3) : null,
      };
      const H = new Float32Array(T * B * n);
      nat.impl!.forward(spec, inp, H, threads);
      const g = { dz: new Float32Array(T * B * n), dw: new Float32Array(inp.w.length), dh0: new Float32Array(B * n), dbias: inp.bias ? new Float32Array(n) : null };
      nat.impl!.backward(spec, inp, H, normal(T * B * n, `${key}/dH`), g, threads);
      Object.entries({ H, ...g }).forEach(([k, v]) => out.set(`${key} ${k}`, v));
      if (activation === 'linear') {
        const w = kind === 'dense' ? inp.w : Float32Array.from(randomSigns(n, `${key}/signs`));
        const Hs = new Float32Array(T * B * n);
        nat.impl!.forward(spec, { ...inp, w }, Hs, threads);
        const r = { z: inp.z, w, h0: inp.h0, atStart: true, h: Hs.slice((T - 1) * B * n), carry: new Float32Array(B * n), anchorEvery: 3, anchors: Float32Array.from([...Hs.slice(2 * B * n, 3 * B * n), ...Hs.slice(5 * B * n, 6 * B * n)]) };
        const dz = new Float32Array(T * B * n);
        const dw = new Float32Array(w.length);
        nat.reversible!.backward(spec, r, normal(T * B * n, `${key}/dHr`), dz, dw, threads);
        Object.entries({ dz, dw, carry: r.carry }).forEach(([k, v]) => out.set(`${key} reversible ${k}`, v));
      }
    }
  }
  {
    const n = 20;
    const inp = { gates: normal(T * B * 4 * n, 'lstm/gates'), w: normal(4 * n * n, 'lstm/W', 0.3), h0: normal(B * n, 'lstm/h0'), c0: normal(B * n, 'lstm/c0') };
    const saved = { H: new Float32Array(T * B * n), C: new Float32Array(T * B * n), S: new Float32Array(T * B * 4 * n) };
    nat.lstm!.forward({ T, B, n }, inp, saved, threads);
    const g = { dgates: new Float32Array(T * B * 4 * n), dw: new Float32Array(4 * n * n), dh0: new Float32Array(B * n), dc0: new Float32Array(B * n) };
    nat.lstm!.backward({ T, B, n }, inp, saved, normal(T * B * n, 'lstm/dH'), g, threads);
    Object.entries({ ...saved, ...g }).forEach(([k, v]) => out.set(`lstm ${k}`, v));
  }
  for (const relu of [false, true]) {
    const spec = { N: 37, k: 19, m: 11, relu };
    const key = `affine relu=${relu}`;
    const x = normal(spec.N * spec.k, `${key}/x`);
    const w = normal(spec.k * spec.m, `${key}/w`);
    const c = normal(spec.m, `${key}/c`);
    const y = new Float32Array(spec.N * spec.m);
    nat.affine!.forward(spec, x, w, c, y, threads);
    const g = { dx: new Float32Array(spec.N * spec.k), dw: new Float32Array(spec.k * spec.m), dc: new Float32Array(spec.m) };
    nat.affine!.backward(spec, x, w, normal(spec.N * spec.m, `${key}/dy`), g, threads);
    const targets = Int32Array.from({ length: spec.N }, (_, i) => (i * 7) % spec.m);
    const ce = { dx: new Float32Array(spec.N * spec.k), dw: new Float32Array(spec.k * spec.m), dc: new Float32Array(spec.m) };
    out.set(`${key} crossEntropy`, nat.affine!.crossEntropy(spec, x, w, c, targets, 0.5, ce, threads));
    Object.entries({ y, ...g }).forEach(([k, v]) => out.set(`${key} ${k}`, v));
    Object.entries(ce).forEach(([k, v]) => out.set(`${key} crossEntropy ${k}`, v));
  }
  for (const order of [{ n: 16, blockSize: 8 }, { n: 48, blockSize: 24, p: 12, hp: paley1(11) }]) {
    const spec = { T: 10, B: 3, k: 6, classes: 5, relu: true, anchorEvery: 4, lastOnly: false, indexInputs: false, kind: 'hadamard' as const, activation: 'linear' as const, ...order };
    const fused = order.blockSize === 8 ? 'fused' : 'fused m=12·2';
    const rng = createRng('fused/x');
    const x = new Float32Array(spec.T * spec.B * spec.k);
    for (let r = 0; r < spec.T * spec.B; r++) x[r * spec.k + Math.floor(rng.uniform() * spec.k)] = 1;
    const inp = {
      x, U: normal(spec.k * spec.n, 'fused/U'), b: normal(spec.n, 'fused/b'), s: Float32Array.from(randomSigns(spec.n, 'fused/s')),
      h0: normal(spec.B * spec.n, 'fused/h0'), V: normal(spec.n * spec.classes, 'fused/V'), c: normal(spec.classes, 'fused/c'),
      targets: Int32Array.from({ length: spec.T * spec.B }, (_, i) => (i * 3) % spec.classes),
    };
    const hLast = new Float32Array(spec.B * spec.n);
    const anchors = new Float32Array(Math.floor(spec.T / spec.anchorEvery) * spec.B * spec.n);
    out.set(`${fused} loss`, nat.fusedStep!.forward(spec, inp, hLast, anchors, threads));
    const g = { dU: new Float32Array(inp.U.length), db: new Float32Array(spec.n), ds: new Float32Array(spec.n), dh0: new Float32Array(spec.B * spec.n), dV: new Float32Array(inp.V.length), dc: new Float32Array(spec.classes) };
    nat.fusedStep!.backward(spec, inp, hLast, anchors, 1, g, threads);
    Object.entries({ hLast, anchors, ...g }).forEach(([k, v]) => out.set(`${fused} ${k}`, v));
  }
  {
    // The last-step readout with index inputs (pMNIST's readout, the copy task's hot indices).
    const spec = { T: 10, B: 3, n: 16, blockSize: 8, k: 6, classes: 5, relu: true, anchorEvery: 4, lastOnly: true, indexInputs: true, kind: 'hadamard' as const, activation: 'linear' as const };
    const inp = {
      x: Int32Array.from({ length: spec.T * spec.B }, (_, i) => (i * 5) % spec.k), U: normal(spec.k * spec.n, 'fusedLast/U'), b: normal(spec.n, 'fusedLast/b'),
      s: Float32Array.from(randomSigns(spec.n, 'fusedLast/s')), h0: null, V: normal(spec.n * spec.classes, 'fusedLast/V'), c: normal(spec.classes, 'fusedLast/c'),
      targets: Int32Array.from({ length: spec.B }, (_, i) => (i * 3) % spec.classes),
    };
    const hLast = new Float32Array(spec.B * spec.n);
    const anchors = new Float32Array(Math.floor(spec.T / spec.anchorEvery) * spec.B * spec.n);
    out.set('fused last loss', nat.fusedStep!.forward(spec, inp, hLast, anchors, threads));
    const g = { dU: new Float32Array(inp.U.length), db: new Float32Array(spec.n), ds: new Float32Array(spec.n), dh0: null, dV: new Float32Array(inp.V.length), dc: new Float32Array(spec.classes) };
    nat.fusedStep!.backward(spec, inp, hLast, anchors, 1, g, threads);
    Object.entries({ hLast, anchors, ...g }).forEach(([k, v]) => { if (v) out.set(`fused last ${k}`, v); });
  }
  {
    // The dense recurrence (tanh) with checkpointed BPTT.
    const spec = { T: 10, B: 3, n: 16, blockSize: 1, k: 6, classes: 5, relu: false, anchorEvery: 3, lastOnly: false, indexInputs: true, kind: 'dense' as const, activation: 'tanh' as const };
    const inp = {
      x: Int32Array.from({ length: spec.T * spec.B }, (_, i) => (i * 5) % spec.k), U: normal(spec.k * spec.n, 'fusedDense/U'), b: normal(spec.n, 'fusedDense/b'),
      s: normal(spec.n * spec.n, 'fusedDense/W').map((v) => v / 4), h0: normal(spec.B * spec.n, 'fusedDense/h0'), V: normal(spec.n * spec.classes, 'fusedDense/V'), c: normal(spec.classes, 'fusedDense/c'),
      targets: Int32Array.from({ length: spec.T * spec.B }, (_, i) => (i * 3) % spec.classes),
    };
    const hLast = new Float32Array(spec.B * spec.n);
    const anchors = new Float32Array(Math.floor(spec.T / spec.anchorEvery) * spec.B * spec.n);
    out.set('fused dense loss', nat.fusedStep!.forward(spec, inp, hLast, anchors, threads));
    const g = { dU: new Float32Array(inp.U.length), db: new Float32Array(spec.n), ds: new Float32Array(spec.n * spec.n), dh0: new Float32Array(spec.B * spec.n), dV: new Float32Array(inp.V.length), dc: new Float32Array(spec.classes) };
    nat.fusedStep!.backward(spec, inp, hLast, anchors, 1, g, threads);
    Object.entries({ hLast, anchors, ...g }).forEach(([k, v]) => out.set(`fused dense ${k}`, v));
  }
  {
    // The LSTM loss with checkpointed BPTT (float inputs, T not a multiple of the segment).
    const spec = { T: 10, B: 3, n: 12, k: 6, classes: 5, relu: true, checkpointEvery: 3, lastOnly: false, indexInputs: false };
    const inp = {
      x: normal(spec.T * spec.B * spec.k, 'lstmLoss/x'), Wx: normal(spec.k * 4 * spec.n, 'lstmLoss/Wx', 0.5), b: normal(4 * spec.n, 'lstmLoss/b'), Wh: normal(spec.n * 4 * spec.n, 'lstmLoss/Wh', 0.3),
      h0: normal(spec.B * spec.n, 'lstmLoss/h0'), c0: normal(spec.B * spec.n, 'lstmLoss/c0'), V: normal(spec.n * spec.classes, 'lstmLoss/V'), c: normal(spec.classes, 'lstmLoss/c'),
      targets: Int32Array.from({ length: spec.T * spec.B }, (_, i) => (i * 3) % spec.classes),
    };
    const checkpoints = new Float32Array(Math.floor(spec.T / spec.checkpointEvery) * spec.B * 2 * spec.n);
    out.set('lstm loss', nat.lstmLoss!.forward(spec, inp, checkpoints, threads));
    const g = {
      dWx: new Float32Array(inp.Wx.length), db: new Float32Array(inp.b.length), dWh: new Float32Array(inp.Wh.length), dh0: new Float32Array(spec.B * spec.n), dc0: new Float32Array(spec.B * spec.n),
      dV: new Float32Array(inp.V.length), dc: new Float32Array(spec.classes),
    };
    nat.lstmLoss!.backward(spec, inp, checkpoints, 1, g, threads);
    Object.entries({ checkpoints, ...g }).forEach(([k, v]) => out.set(`lstm loss ${k}`, v));
  }
  return out;
}

describe('native builds (baseline and AVX2+FMA)', { skip: native ? false : 'ORTHOQUANT_KERNELS_NATIVE=0' }, () => {
  it('the baseline build loads and reports its instruction set', () => {
    assert.ok(base?.impl, `baseline addon: ${base?.reason}`);
    assert.equal(base.isa, 'baseline');
    assert.ok(!/avx/.test(base.simd), `the baseline build reports ${base.simd}`);
  });

  it('every op gives the same results on both builds', { skip: avx2?.impl ? false : `no AVX2 build here: ${avx2?.reason}` }, () => {
    assert.equal(avx2!.simd, 'avx2+fma');
    for (const threads of [1, 2]) {
      const a = runAll(base!, threads);
      const b = runAll(avx2!, threads);
      assert.deepEqual([...b.keys()], [...a.keys()]);
      for (const [key, va] of a) {
        const vb = b.get(key)!;
        if (typeof va === 'number') assert.ok(Math.abs(va - (vb as number)) <= 1e-5 * Math.max(1, Math.abs(va)), `${key}: ${va} vs ${String(vb)}`);
        else close(va, vb as Float32Array | null, `${key} (${threads} threads)`);
      }
    }
  });

  it('the integer engines give the same codes on both builds, bit for bit (int16 and int32 lanes, quantization)', { skip: avx2?.impl ? false : `no AVX2 build here: ${avx2?.reason}` }, () => {
    const rng = createRng('isa/integer');
    const lanes = new Set<string>();
    const codes = (len: number, lo: number, hi: number) => Int32Array.from({ length: len }, () => lo + Math.floor(rng.uniform() * (hi - lo + 1)));
    // [n, m, bits, shifts]: int16 lanes (small bits), int32 lanes (12 bits), blocks beyond a chunk, n % 16 ≠ 0, no shift.
    // The last: 8-bit U codes and a larger rescale put the dense rows' |z| past the int16 limit
    // while the one-hot rows stay below it (both widths in one call).
    for (const [n, m, bits, shifts, uMax, rescaleShift] of [
      [128, 128, 8, [4, 3], 7, -3], [128, 128, 12, [4, 3], 7, -3], [256, 256, 6, [4, 4], 7, -3], [256, 256, 12, [4, 4], 7, -3],
      [48, 8, 10, [2, 1], 7, -3], [12, 4, 8, [1, 1], 7, -3], [32, 32, 9, [0, 0], 7, -3], [128, 128, 8, [4, 3], 127, 0],
    ] as const) {
      for (const [manyToMany, relu, readoutRelu] of [[true, false, true], [false, true, false]]) {
        const T = 9;
        const B = 3;
        const D = 4;
        const O = 9;
        const q = 2 ** (bits - 1);
        const xq = codes(T * B * D, -q, q - 1);
        for (let r = 0; r < T * B; r += 2) xq.fill(0, r * D, r * D + D).fill(r % q, r * D + (r % D), r * D + (r % D) + 1); // one-hot rows
        const args = {
          T, B, n, blockSize: m, inputSize: D, outputSize: O, actBits: bits, relu, readoutRelu, manyToMany, phase0: 0, xq, inputZeroPoint: 0,
          U: codes(D * n, -uMax, uMax), bInput: codes(n, -50, 50), inputRescale: Int32Array.from([1395864371, rescaleShift, 1200000000, rescaleShift - 1]),
          signMask: codes(n, -1, 0), stepShifts: Int32Array.from(shifts), V: codes(n * O, -7, 7), cLogit: codes(2 * O, -100, 100),
        };
        const h0 = codes(B * n, -q, q - 1);
        const run = (nat: NativeLoad) => {
          const h = h0.slice();
          const logits = new Int32Array((manyToMany ? T : 1) * B * O);
          const steps16 = nat.inference!.integerHadamRnn({ ...args, h, logits });
          return { h, logits, steps16 };
        };
        const a = run(base!);
        const b = run(avx2!);
        const key = `integer HadamRNN n=${n} m=${m} ${bits} bits m2m=${manyToMany}`;
        assert.deepEqual(b.logits, a.logits, `${key}: logits`);
        assert.deepEqual(b.h, a.h, `${key}: state`);
        assert.equal(b.steps16, a.steps16, `${key}: the same rows on int16 lanes`);
        lanes.add(a.steps16 === 0 ? 'int32' : a.steps16 === T * B ? 'int16' : 'mixed');
      }
    }
    assert.deepEqual([...lanes].sort(), ['int16', 'int32', 'mixed'], 'both lane widths (and rows of both in one call) were exercised');
    const x = Float32Array.from({ length: 203 }, (_, i) => (i % 7 === 0 ? [NaN, Infinity, -Infinity, 2.5, -0.5][i % 5] : (rng.uniform() - 0.5) * 600));
    for (const scale of [0.25, 0.1, 3]) {
      const oa = new Int32Array(x.length);
      const ob = new Int32Array(x.length);
      base!.inference!.quantizeInputs(x, scale, 3, -128, 127, oa);
      avx2!.inference!.quantizeInputs(x, scale, 3, -128, 127, ob);
      assert.deepEqual(ob, oa, `quantizeInputs scale ${scale}`);
    }
  });

  it('ORTHOQUANT_ISA picks the build that runs, and rejects other values by name', () => {
    const probe = (isa: string) =>
      spawnSync(process.execPath, ['--conditions=@orthoquant/source', '--import', 'tsx', '-e', "import('./src/index.ts').then((m) => console.log(JSON.stringify(m.kernelInfo())))"], {
        cwd: packageRoot, encoding: 'utf8', env: { ...process.env, ORTHOQUANT_ISA: isa, ORTHOQUANT_KERNELS: 'auto' },
      });
    const baseline = probe('baseline');
    assert.equal(baseline.status, 0, baseline.stderr);
    assert.equal(JSON.parse(baseline.stdout.trim().split('\n').pop()!).simd, base!.simd);
    const auto = probe('auto');
    assert.equal(JSON.parse(auto.stdout.trim().split('\n').pop()!).simd, avx2?.impl ? 'avx2+fma' : base!.simd);
    const bad = probe('sse9');
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /ORTHOQUANT_ISA: expected one of auto\|baseline\|avx2, got 'sse9'/);
  });
});
