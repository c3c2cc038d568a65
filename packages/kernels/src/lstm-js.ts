/**
 * The pure-JS fused LSTM scan (forward and BPTT), time outermost like scan-js.ts.
 * Backward per unit, with dh = dL/dh_t (from the output and from step t+1) and tc = tanh(c_t):
 *   dc = dc_next + dh·o·(1 − tc²);  da_i = dc·g·i(1−i);  da_f = dc·c_{t−1}·f(1−f);
 *   da_g = dc·i·(1−g²);  da_o = dh·tc·o(1−o);  dc_{t−1} = dc·f;  dh_{t−1} = da·W_hh.
 */
import type { LstmGradients, LstmImplementation, LstmInputs, LstmOutputs, LstmSpec } from './lstm-spec.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function forward(spec: LstmSpec, inp: LstmInputs, out: LstmOutputs): void {
  const { T, B, n } = spec;
  const n4 = 4 * n;
  const { gates, w, h0, c0 } = inp;
  const { H, C, S } = out;
  const a = new Float32Array(n4);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const r = t * B + b; // row index in [T·B]
      const hPrev = t > 0 ? H : h0;
      const cPrev = t > 0 ? C : c0;
      const po = t > 0 ? (r - B) * n : b * n;
      for (let k = 0; k < n4; k++) {
        let acc = gates[r * n4 + k];
        if (hPrev) {
          const wk = k * n;
          for (let j = 0; j < n; j++) acc += w[wk + j] * hPrev[po + j];
        }
        a[k] = acc;
      }
      for (let j = 0; j < n; j++) {
        const i = sigmoid(a[j]);
        const f = sigmoid(a[n + j]);
        const g = Math.tanh(a[2 * n + j]);
        const o = sigmoid(a[3 * n + j]);
        const c = f * (cPrev ? cPrev[po + j] : 0) + i * g;
        S[r * n4 + j] = i;
        S[r * n4 + n + j] = f;
        S[r * n4 + 2 * n + j] = g;
        S[r * n4 + 3 * n + j] = o;
        C[r * n + j] = c;
        H[r * n + j] = o * Math.tanh(c);
      }
    }
  }
}

function backward(spec: LstmSpec, inp: LstmInputs, saved: LstmOutputs, dH: Float32Array, grads: LstmGradients): void {
  const { T, B, n } = spec;
  const n4 = 4 * n;
  const { w, h0, c0 } = inp;
  const { H, C, S } = saved;
  const { dgates, dw, dh0, dc0 } = grads;
  dw.fill(0);
  const ch = new Float32Array(B * n); // dL/dh_{t} from step t+1
  const cc = new Float32Array(B * n); // dL/dc_{t} from step t+1
  const da = new Float32Array(n4);
  for (let t = T - 1; t >= 0; t--) {
    for (let b = 0; b < B; b++) {
      const r = t * B + b;
      const hPrev = t > 0 ? H : h0;
      const cPrev = t > 0 ? C : c0;
      const po = t > 0 ? (r - B) * n : b * n;
      for (let j = 0; j < n; j++) {
        const i = S[r * n4 + j];
        const f = S[r * n4 + n + j];
        const g = S[r * n4 + 2 * n + j];
        const o = S[r * n4 + 3 * n + j];
        const tc = Math.tanh(C[r * n + j]);
        const dh = dH[r * n + j] + ch[b * n + j];
        const dc = cc[b * n + j] + dh * o * (1 - tc * tc);
        da[j] = dc * g * i * (1 - i);
        da[n + j] = dc * (cPrev ? cPrev[po + j] : 0) * f * (1 - f);
        da[2 * n + j] = dc * i * (1 - g * g);
        da[3 * n + j] = dh * tc * o * (1 - o);
        cc[b * n + j] = dc * f;
      }
      dgates.set(da, r * n4);
      if (hPrev) {
        for (let k = 0; k < n4; k++) {
          const d = da[k];
          const wk = k * n;
          for (let j = 0; j < n; j++) dw[wk + j] += d * hPrev[po + j];
        }
      }
      const c = b * n;
      ch.fill(0, c, c + n);
      for (let k = 0; k < n4; k++) {
        const d = da[k];
        const wk = k * n;
        for (let j = 0; j < n; j++) ch[c + j] += d * w[wk + j];
      }
    }
  }
  if (dh0) dh0.set(ch);
  if (dc0) dc0.set(cc);
}

export const jsLstm: LstmImplementation = {
  name: 'js',
  forward: (spec, inp, out) => forward(spec, inp, out),
  backward: (spec, inp, saved, dH, g) => backward(spec, inp, saved, dH, g),
};
