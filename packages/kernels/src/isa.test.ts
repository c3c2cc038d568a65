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
