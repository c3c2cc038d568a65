#!/usr/bin/env node
// sha256 (first 16 hex digits) of everything the fused losses return — loss, hLast and anchors (LSTM:
// checkpoints) and every gradient — on fixed random inputs, for each build of the addon: the proof
// that a change to the native kernels is bit-identical. Run it before and after (save the output),
// then diff; the cases cover the copy, float-input and pMNIST shapes, hidden sizes that are not
// multiples of 8, a Kronecker order, the dense recurrence, the LSTM and the reversible scan's
// backward (hadamard).
//
//   node packages/kernels/scripts/fused-digest.mjs [addon.node ...] [--threads N] [--only TEXT] [--parts]
//
// Default addons: both builds in build/Release. --parts adds one hash per output (which one moved).
// CPU times are printed for orientation only (one run; the machine is shared).
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const argv = process.argv.slice(2);
const option = (name) => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const [v] = argv.splice(i, 2).slice(1);
  return v;
};
const threads = Number(option('--threads') ?? 1);
const only = option('--only');
const partsFlag = argv.indexOf('--parts');
const showParts = partsFlag >= 0;
if (showParts) argv.splice(partsFlag, 1);
const release = join(dirname(fileURLToPath(import.meta.url)), '..', 'build', 'Release');
const addons = argv.length ? argv : ['orthoquant_kernels_avx2.node', 'orthoquant_kernels.node'].map((f) => join(release, f)).filter(existsSync);

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const normal = (r) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
const f32 = (r, len, sd) => Float32Array.from({ length: len }, () => normal(r) * sd);
const hash = (parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p instanceof Float64Array || p instanceof Float32Array ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : Buffer.from(Float64Array.of(p).buffer));
  return h.digest('hex').slice(0, 16);
};

function inputs(r, { T, B, k, classes, lastOnly, index, hot }) {
  let x;
  if (index) x = Int32Array.from({ length: T * B }, () => Math.floor(r() * k));
  else if (hot) {
    x = new Float32Array(T * B * k);
    for (let i = 0; i < T * B; i++) x[i * k + Math.floor(r() * k)] = 1;
  } else x = f32(r, T * B * k, 1);
  const targets = Int32Array.from({ length: lastOnly ? B : T * B }, () => Math.floor(r() * classes));
  return { x, targets };
}

function fused(addon, c) {
  const r = rng(c.seed ?? 1);
  const { T, B, n, m, k, classes } = c;
  const { x, targets } = inputs(r, c);
  const dense = c.kind === 'dense';
  const U = f32(r, k * n, 0.3), b = f32(r, n, 0.1);
  const s = dense ? f32(r, n * n, 1 / Math.sqrt(n)) : Float32Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1));
  const h0 = c.h0 ? f32(r, B * n, 0.5) : null;
  const V = f32(r, n * classes, 1 / Math.sqrt(n)), cc = f32(r, classes, 0.1);
  const flags = (c.relu ? 1 : 0) | (c.lastOnly ? 2 : 0) | (c.index ? 4 : 0) | (dense ? 8 : 0) | ((c.act ?? 0) << 4);
  const hLast = new Float32Array(B * n);
  const ae = c.anchorEvery ?? 0;
  const anchors = ae > 0 && Math.floor(T / ae) > 0 ? new Float32Array(Math.floor(T / ae) * B * n) : null;
  const p = c.p ?? 1, hp = c.hp ?? null;
  const head = [T, B, n, m, k, classes, flags, ae, threads, x, U, b, s, h0, V, cc, targets];
  const u0 = process.cpuUsage();
  const loss = addon.fusedStepForward(...head, hLast, anchors, p, hp);
  const u1 = process.cpuUsage(u0);
  const g = [new Float32Array(k * n), new Float32Array(n), new Float32Array(dense ? n * n : n), h0 ? new Float32Array(B * n) : null, new Float32Array(n * classes), new Float32Array(classes)];
  addon.fusedStepBackward(...head, hLast, anchors, 0.7, ...g, p, hp);
  const u2 = process.cpuUsage(u0);
  const parts = [loss, hLast, ...(anchors ? [anchors] : []), ...g.filter(Boolean)];
  if (showParts) console.log(`  parts: ${parts.map((x) => hash([x]).slice(0, 6)).join(' ')}`);
  return { loss, digest: hash(parts), fwd: (u1.user + u1.system) / 1e6, all: (u2.user + u2.system) / 1e6 };
}

function lstm(addon, c) {
  const r = rng(c.seed ?? 2);
  const { T, B, n, k, classes } = c;
  const { x, targets } = inputs(r, c);
  const Wx = f32(r, k * 4 * n, 0.3), b = f32(r, 4 * n, 0.1), Wh = f32(r, n * 4 * n, 1 / Math.sqrt(n));
  const h0 = c.h0 ? f32(r, B * n, 0.5) : null, c0 = c.h0 ? f32(r, B * n, 0.5) : null;
  const V = f32(r, n * classes, 1 / Math.sqrt(n)), cc = f32(r, classes, 0.1);
  const flags = (c.relu ? 1 : 0) | (c.lastOnly ? 2 : 0) | (c.index ? 4 : 0);
  const K = c.checkpointEvery ?? 0;
  const checkpoints = K > 0 && Math.floor(T / K) > 0 ? new Float32Array(Math.floor(T / K) * B * 2 * n) : null;
  const head = [T, B, n, k, classes, flags, K, threads, x, Wx, b, Wh, h0, c0, V, cc, targets];
  const u0 = process.cpuUsage();
  const loss = addon.lstmLossForward(...head, checkpoints);
  const u1 = process.cpuUsage(u0);
  const g = [new Float32Array(k * 4 * n), new Float32Array(4 * n), new Float32Array(n * 4 * n), h0 ? new Float32Array(B * n) : null, c0 ? new Float32Array(B * n) : null, new Float32Array(n * classes), new Float32Array(classes)];
  addon.lstmLossBackward(...head, checkpoints, 0.7, ...g);
  const u2 = process.cpuUsage(u0);
  const parts = [loss, ...(checkpoints ? [checkpoints] : []), ...g.filter(Boolean)];
  if (showParts) console.log(`  parts: ${parts.map((x) => hash([x]).slice(0, 6)).join(' ')}`);
  return { loss, digest: hash(parts), fwd: (u1.user + u1.system) / 1e6, all: (u2.user + u2.system) / 1e6 };
}

// The reversible scan's backward (hadamard, native/reversible.cc): the rebuilt h_{-1}, the carry, dz
// and ds.
function reversible(addon, c) {
  const r = rng(c.seed ?? 3);
  const { T, B, n, m } = c;
  const row = B * n;
  const z = f32(r, T * row, 0.5), s = Float32Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1));
  const h0 = c.h0 ? f32(r, row, 0.5) : null, h = f32(r, row, 0.5), carry = f32(r, row, 0.5);
  const ae = c.anchorEvery ?? 0;
  const anchors = ae > 0 && Math.floor(T / ae) > 0 ? f32(r, Math.floor(T / ae) * row, 0.5) : null;
  const dH = f32(r, T * row, 0.1), dz = new Float32Array(T * row), ds = new Float32Array(n);
  const u0 = process.cpuUsage();
  addon.reversibleBackward(1, T, B, n, m, threads, z, s, h0, c.atStart ? 1 : 0, h, carry, ae, anchors, dH, dz, ds, c.p ?? 1, c.hp ?? null);
  const u1 = process.cpuUsage(u0);
  const parts = [h, carry, dz, ds];
  if (showParts) console.log(`  parts: ${parts.map((x) => hash([x]).slice(0, 6)).join(' ')}`);
  return { digest: hash(parts), all: (u1.user + u1.system) / 1e6 };
}

// Paley's H_12 is not needed for bit-identity: any ±1 matrix exercises the p-stage.
const hp12 = (() => {
  const r = rng(12);
  return Int8Array.from({ length: 144 }, () => (r() < 0.5 ? -1 : 1));
})();

const CASES = [
  ['hadamard copy index relu n128 B128 T1000 c9', fused, { T: 1000, B: 128, n: 128, m: 128, k: 10, classes: 9, index: true, relu: true, anchorEvery: 1000 }],
  ['hadamard copy index linear-readout', fused, { T: 1000, B: 128, n: 128, m: 128, k: 10, classes: 9, index: true, relu: false, anchorEvery: 1000 }],
  ['hadamard copy float one-hot relu', fused, { T: 1000, B: 128, n: 128, m: 128, k: 10, classes: 9, hot: true, relu: true, anchorEvery: 1000 }],
  ['hadamard float-input k3 h0 anchors50 B7 c23', fused, { T: 200, B: 7, n: 64, m: 16, k: 3, classes: 23, relu: true, h0: true, anchorEvery: 50 }],
  ['hadamard pMNIST n512 B100 T784 last', fused, { T: 784, B: 100, n: 512, m: 512, k: 1, classes: 10, relu: true, lastOnly: true, anchorEvery: 1000 }],
  ['hadamard n12 m4 tails B5 c11', fused, { T: 60, B: 5, n: 12, m: 4, k: 4, classes: 11, relu: true, h0: true, anchorEvery: 0 }],
  ['hadamard n20 m4 last c3', fused, { T: 40, B: 3, n: 20, m: 4, k: 2, classes: 3, relu: false, lastOnly: true, anchorEvery: 7 }],
  ['hadamard kron n96 m96 p12 B9 c10', fused, { T: 100, B: 9, n: 96, m: 96, p: 12, hp: hp12, k: 10, classes: 10, index: true, relu: true, anchorEvery: 30 }],
  ['dense n64 tanh B6 c9', fused, { kind: 'dense', act: 2, T: 100, B: 6, n: 64, m: 64, k: 10, classes: 9, index: true, relu: true, anchorEvery: 10 }],
  ['lstm copy index n128 B128 T200 c9', lstm, { T: 200, B: 128, n: 128, k: 10, classes: 9, index: true, relu: true, checkpointEvery: 15 }],
  ['lstm n20 float last h0 B5 c12', lstm, { T: 50, B: 5, n: 20, k: 3, classes: 12, relu: false, lastOnly: true, h0: true, checkpointEvery: 7 }],
  ['lstm n36 hot all c17 B3', lstm, { T: 30, B: 3, n: 36, k: 5, classes: 17, hot: true, relu: true, checkpointEvery: 0 }],
  ['reversible n128 m128 B128 T1000 atStart', reversible, { T: 1000, B: 128, n: 128, m: 128, atStart: true }],
  ['reversible n512 B16 T200 anchors40', reversible, { T: 200, B: 16, n: 512, m: 512, anchorEvery: 40 }],
  ['reversible n64 m16 h0 anchors7 B5', reversible, { T: 60, B: 5, n: 64, m: 16, atStart: true, h0: true, anchorEvery: 7 }],
  ['reversible n256 m64 chunk B4', reversible, { T: 20, B: 4, n: 256, m: 64 }],
  ['reversible n32 m4 h0', reversible, { T: 20, B: 4, n: 32, m: 4, atStart: true, h0: true }],
  ['reversible n12 m4 tails', reversible, { T: 20, B: 4, n: 12, m: 4, atStart: true, h0: true }],
  ['reversible kron n96 m96 p12', reversible, { T: 30, B: 5, n: 96, m: 96, p: 12, hp: hp12, anchorEvery: 10 }],
];

for (const file of addons) {
  const addon = require(file);
  console.log(`${file} (${threads} thread${threads > 1 ? 's' : ''})`);
  for (const [name, fn, c] of CASES) {
    if (only && !name.includes(only)) continue;
    const out = fn(addon, c);
    const loss = out.loss === undefined ? '' : `loss=${out.loss.toPrecision(9)}  cpu fwd ${out.fwd.toFixed(3)} s, fwd+`;
    console.log(`${out.digest}  ${name}  ${loss}${out.loss === undefined ? 'cpu ' : ''}bwd ${out.all.toFixed(3)} s`);
  }
}
