/**
 * Reconstruction error of reversible BPTT (the states rebuilt as h_{t−1} = (h_t − z_t)Q⁻¹)
 * against the stored-state backward, at long T. For each case: the relative error of h_{−1}
 * rebuilt from h_{T−1} through all T steps (the worst drift), and the relative errors of ds / dW
 * and dz of the reversible backward against the stored-state backward (same implementation).
 * z ~ N(0, 1) (states grow like a random walk, as in the copy task), dL/dH ~ N(0, 1).
 *
 *   node --conditions=@orthoquant/source --import tsx packages/kernels/scripts/reversible-error.ts [--T 1000,10000,100000] [--anchor k]
 */
import { loadavg } from 'node:os';
import { createRng } from '@orthoquant/runtime';
import { scanForward, scanBackward, scanBackwardReversible, availableImplementations } from '../src/index.js';
import type { ScanSpec } from '../src/index.js';
import { loadNative } from '../src/native.js';
import { jsReversible } from '../src/scan-reversible.js';
import { randomOrthogonal, randomSigns } from '../src/testing.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const Ts = (flag('--T') ?? '1000,10000,100000').split(',').map(Number);
const anchorEvery = Number(flag('--anchor') ?? 0);
const impl = availableImplementations().includes('native') ? 'native' : 'js';
const rev = impl === 'native' ? loadNative().reversible! : jsReversible;

function rel(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

console.log(`implementation ${impl}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; anchors every ${anchorEvery || '—'}`);
console.log('| case | T | rebuilt h_{-1} rel. error | ds/dW rel. error | dz rel. error | max |h| |');
console.log('|---|---|---|---|---|---|');
for (const kind of ['hadamard', 'dense'] as const) {
  for (const T of Ts) {
    const B = 2;
    const n = kind === 'dense' ? 64 : 128;
    const spec: ScanSpec = { kind, activation: 'linear', T, B, n, blockSize: n };
    const rng = createRng(`reversible-error/${kind}/${T}`);
    const row = B * n;
    const inp = { z: rng.normalArray(T * row), w: kind === 'dense' ? randomOrthogonal(n, 'W') : randomSigns(n, 's'), h0: rng.normalArray(row), bias: null };
    const dH = rng.normalArray(T * row);
    const H = scanForward(spec, inp, { implementation: impl });
    let maxH = 0;
    for (let i = (T - 1) * row; i < T * row; i++) maxH = Math.max(maxH, Math.abs(H[i]));
    const want = scanBackward(spec, inp, H, dH, { implementation: impl });
    const hLast = H.slice((T - 1) * row);
    let anchors: Float32Array | null = null;
    if (anchorEvery > 0) {
      anchors = new Float32Array(Math.floor(T / anchorEvery) * row);
      for (let j = 0; j < Math.floor(T / anchorEvery); j++) anchors.set(H.subarray(((j + 1) * anchorEvery - 1) * row, (j + 1) * anchorEvery * row), j * row);
    }
    const got = scanBackwardReversible(spec, inp, hLast, dH, { implementation: impl, anchorEvery, anchors });
    // The state rebuilt through all T steps: run the pass with atStart = false (h comes back as h_{−1}).
    const h = hLast.slice();
    rev.backward(spec, { ...inp, atStart: false, h, carry: new Float32Array(row), anchorEvery, anchors }, dH, new Float32Array(T * row), new Float32Array(inp.w.length), 1);
    const name = `${kind} n=${n} B=${B}`;
    console.log(`| ${name} | ${T} | ${rel(h, inp.h0).toExponential(2)} | ${rel(got.dw, want.dw).toExponential(2)} | ${rel(got.dz, want.dz).toExponential(2)} | ${maxH.toFixed(1)} |`);
  }
}
