/**
 * The pure-JS implementation of the fused scans (Float32Array loops). Always available; the
 * native addon is held to the same tests.
 *
 * Batch rows never interact in the recurrence; loops run time outermost so that each step
 * streams through one contiguous [B, n] slab of Z, H, dL/dH and dL/dZ.
 *
 * Activation derivatives are read off the saved output h = σ(a) (no pre-activation is kept):
 * relu [h > 0], tanh 1 − h², modReLU [h ≠ 0] (and ∂h/∂b = sign h).
 */
import type { ScanForwardInputs, ScanGradients, ScanImplementation, ScanSpec } from './scan-spec.js';

const LINEAR = 0, RELU = 1, TANH = 2, MODRELU = 3;
const ACT = { linear: LINEAR, relu: RELU, tanh: TANH, modrelu: MODRELU } as const;

/** In-place fast Walsh–Hadamard transform of x[off .. off+n) in independent blocks of m (unnormalised). */
export function fwhtBlocks(x: Float32Array, off: number, n: number, m: number): void {
  for (let base = off; base < off + n; base += m) {
    for (let h = 1; h < m; h <<= 1) {
      for (let i = base; i < base + m; i += h << 1) {
        for (let j = i; j < i + h; j++) {
          const a = x[j];
          const b = x[j + h];
          x[j] = a + b;
          x[j + h] = a - b;
        }
      }
    }
  }
}

/** a ↦ σ(a), element i of the row (modReLU needs its bias). */
function activate(act: number, a: number, bias: Float32Array | null, i: number): number {
  switch (act) {
    case RELU:
      return a > 0 ? a : 0;
    case TANH:
      return Math.tanh(a);
    case MODRELU: {
      const r = Math.abs(a) + bias![i];
      return r > 0 ? (a > 0 ? r : a < 0 ? -r : 0) : 0;
    }
    default:
      return a;
  }
}

function forward(spec: ScanSpec, inp: ScanForwardInputs, out: Float32Array): void {
  const { T, B, n, kind } = spec;
  const act = ACT[spec.activation];
  const { z, w, h0, bias } = inp;
  const m = spec.blockSize;
  const scale = kind === 'hadamard' ? 1 / Math.sqrt(m) : 1;
  const buf = new Float32Array(n);
  const stride = B * n;
  // Time outermost: each step streams through one contiguous [B, n] slab.
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const o = t * stride + b * n;
      // h_{t−1}: the previous output row, h0, or zeros.
      const prev = t > 0 ? out : h0;
      const po = t > 0 ? o - stride : b * n;
      if (!prev) buf.fill(0);
      else if (kind === 'dense') {
        for (let i = 0; i < n; i++) {
          let acc = 0;
          const wi = i * n;
          for (let j = 0; j < n; j++) acc += w[wi + j] * prev[po + j];
          buf[i] = acc;
        }
      } else {
        buf.set(prev.subarray(po, po + n));
        fwhtBlocks(buf, 0, n, m);
        for (let i = 0; i < n; i++) buf[i] *= w[i] * scale;
      }
      for (let i = 0; i < n; i++) out[o + i] = activate(act, buf[i] + z[o + i], bias, i);
    }
  }
}

function backward(spec: ScanSpec, inp: ScanForwardInputs, H: Float32Array, dH: Float32Array, g: ScanGradients): void {
  const { T, B, n, kind } = spec;
  const act = ACT[spec.activation];
  const { w, h0 } = inp;
  const m = spec.blockSize;
  const scale = kind === 'hadamard' ? 1 / Math.sqrt(m) : 1;
  const { dz, dw, dh0, dbias } = g;
  dw.fill(0);
  if (dbias) dbias.fill(0);
  const carry = new Float32Array(B * n); // dL/dh_t of every row, coming from step t+1
  const delta = new Float32Array(n);
  const buf = new Float32Array(n);
  const stride = B * n;
  for (let t = T - 1; t >= 0; t--) {
    for (let b = 0; b < B; b++) {
      const o = t * stride + b * n;
      const c = b * n;
      for (let i = 0; i < n; i++) {
        const gi = dH[o + i] + carry[c + i];
        const h = H[o + i];
        let d: number;
        switch (act) {
          case RELU:
            d = h > 0 ? gi : 0;
            break;
          case TANH:
            d = gi * (1 - h * h);
            break;
          case MODRELU:
            d = h !== 0 ? gi : 0;
            if (h !== 0) dbias![i] += h > 0 ? gi : -gi;
            break;
          default:
            d = gi;
        }
        delta[i] = d;
        dz[o + i] = d;
      }
      const prev = t > 0 ? H : h0;
      const po = t > 0 ? o - stride : b * n;
      if (kind === 'dense') {
        if (prev) {
          for (let i = 0; i < n; i++) {
            const d = delta[i];
            if (d === 0) continue;
            const wi = i * n;
            for (let j = 0; j < n; j++) dw[wi + j] += d * prev[po + j];
          }
        }
        carry.fill(0, c, c + n);
        for (let i = 0; i < n; i++) {
          const d = delta[i];
          if (d === 0) continue;
          const wi = i * n;
          for (let j = 0; j < n; j++) carry[c + j] += d * w[wi + j];
        }
      } else {
        if (prev) {
          buf.set(prev.subarray(po, po + n));
          fwhtBlocks(buf, 0, n, m);
          for (let i = 0; i < n; i++) dw[i] += delta[i] * buf[i] * scale;
        }
        for (let i = 0; i < n; i++) carry[c + i] = delta[i] * w[i];
        fwhtBlocks(carry, c, n, m);
        for (let i = 0; i < n; i++) carry[c + i] *= scale;
      }
    }
  }
  if (dh0) dh0.set(carry);
}

export const jsImplementation: ScanImplementation = {
  name: 'js',
  forward: (spec, inp, out) => forward(spec, inp, out),
  backward: (spec, inp, H, dH, g) => backward(spec, inp, H, dH, g),
};
