/**
 * The fused scans as tfjs ops (defined with `defineFusedOp`, fused-op.ts):
 *
 * - `OrthoquantFusedScan`      inputs [z, w, h0?, bias?] → H
 * - `OrthoquantFusedScanGrad`  inputs [dy, H, w, h0?, bias?] → [dz, dw, dh0?, dbias?]
 * (inputs as arrays, like tfjs's Concat; an absent h0 / bias is a one-value placeholder, so
 * the positions are fixed and the gradient saves exactly w, h0, bias — not z — and H.)
 *
 * The gradient saves w, h0, bias and the output H (no z, no pre-activation: σ' is read off H);
 * on wasm the saves share the data instead of copying it. Also the fused LSTM below.
 */
import { tf } from '@orthoquant/runtime';
import type { Activation, RecurrenceKind, ScanImplementation, ScanSpec } from './scan-spec.js';
import type { LstmImplementation, LstmSpec } from './lstm-spec.js';
import { jsImplementation } from './scan-js.js';
import { jsLstm } from './lstm-js.js';
import { checkFloat, defineFusedOp } from './fused-op.js';
import type { FusedAttrs } from './fused-op.js';
import type { OpImplementations } from './implementation.js';

/** The scans' implementations (the σ-recurrence scan, dense and Hadamard). */
export const SCAN_IMPLEMENTATIONS: OpImplementations<ScanImplementation> = { what: 'scan', js: jsImplementation, native: (nat) => nat.impl };
/** The fused LSTM's implementations. */
export const LSTM_IMPLEMENTATIONS: OpImplementations<LstmImplementation> = { what: 'LSTM scan', js: jsLstm, native: (nat) => nat.lstm };

export const SCAN_KERNEL = 'OrthoquantFusedScan';
export const SCAN_GRAD_KERNEL = 'OrthoquantFusedScanGrad';

export interface ScanAttrs extends FusedAttrs {
  kind: RecurrenceKind;
  activation: Activation;
  blockSize: number;
  /** Hadamard orders p·2^k: p and H_p (row-major ±1); absent for powers of two. */
  p?: number;
  hp?: number[];
  hasH0: boolean;
  hasBias: boolean;
}

type Info = tf.TensorInfo;

/**
 * [fixed inputs…, opt1?, opt2?] from an input list whose two optionals always occupy their
 * positions (a placeholder when absent, so that the gradient can name exactly the inputs it
 * saves); absent ones come back as undefined.
 */
function withOptionals(list: Info[], fixed: number, has1: boolean, has2: boolean): (Info | undefined)[] {
  const out: (Info | undefined)[] = list.slice(0, fixed);
  out.push(has1 ? list[fixed] : undefined);
  out.push(has2 ? list[fixed + 1] : undefined);
  return out;
}

/** The p-stage of a Hadamard order p·2^k carried by kernel attributes (p, hp as a number list). */
export function kronOrder(a: { p?: number; hp?: number[] }): { p?: number; hp?: Int8Array } {
  return a.p !== undefined && a.p > 1 ? { p: a.p, hp: Int8Array.from(a.hp ?? []) } : {};
}

function specOf(a: ScanAttrs, z: { shape: number[] }): ScanSpec {
  const [T, B, n] = z.shape;
  return { kind: a.kind, activation: a.activation, T, B, n, blockSize: a.blockSize, ...kronOrder(a) };
}

export const scanOp = defineFusedOp<ScanAttrs, ScanImplementation>({
  kernelName: SCAN_KERNEL,
  gradKernelName: SCAN_GRAD_KERNEL,
  implementations: SCAN_IMPLEMENTATIONS,
  forward: ({ inputs, attrs: a, impl, io }) => {
    const [z, w, h0, bias] = withOptionals(inputs, 2, a.hasH0, a.hasBias);
    for (const [name, t] of Object.entries({ z, w, h0, bias })) if (t) checkFloat(t, `${SCAN_KERNEL}: ${name}`);
    const spec = specOf(a, z!);
    const out = io.alloc([spec.T, spec.B, spec.n]);
    // Views only after the allocation above (a wasm heap growth would detach earlier ones).
    const inp = { z: io.read(z!), w: io.read(w!), h0: h0 ? io.read(h0) : null, bias: bias ? io.read(bias) : null };
    impl.forward(spec, inp, io.view(out), a.threads);
    return io.finish(out);
  },
  backward: ({ inputs, attrs: a, impl, io }) => {
    const [dy, H, w, h0, bias] = withOptionals(inputs, 3, a.hasH0, a.hasBias);
    for (const [name, t] of Object.entries({ dy, H, w, h0, bias })) if (t) checkFloat(t, `${SCAN_GRAD_KERNEL}: ${name}`);
    const spec = specOf(a, H!);
    const { T, B, n } = spec;
    const outs = [io.alloc([T, B, n]), io.alloc(a.kind === 'dense' ? [n, n] : [n])];
    if (h0) outs.push(io.alloc([B, n]));
    if (bias) outs.push(io.alloc([n]));
    const inp = { z: new Float32Array(0), w: io.read(w!), h0: h0 ? io.read(h0) : null, bias: bias ? io.read(bias) : null };
    const g = {
      dz: io.view(outs[0]),
      dw: io.view(outs[1]),
      dh0: h0 ? io.view(outs[2]) : null,
      dbias: bias ? io.view(outs[h0 ? 3 : 2]) : null,
    };
    impl.backward(spec, inp, io.read(H!), io.read(dy!), g, a.threads);
    return outs.map((o) => io.finish(o));
  },
  gradient: {
    // Inputs [z, w, h0 | placeholder, bias | placeholder]: z is not needed (σ' is read off H).
    inputsToSave: ['1', '2', '3'],
    outputsToSave: [true],
    inputs: (dy, [w, h0, bias, H]) => [dy, H, w, h0, bias],
    grads: (outs, [, h0, bias], a) => {
      // Outs: dz, dw, then dh0 and dbias when present; a placeholder's gradient is zeros.
      const [dz, dw] = outs;
      const dh0 = a.hasH0 ? outs[2] : undefined;
      const dbias = a.hasBias ? outs[a.hasH0 ? 3 : 2] : undefined;
      return { 0: () => dz, 1: () => dw, 2: () => dh0 ?? tf.zerosLike(h0), 3: () => dbias ?? tf.zerosLike(bias) };
    },
  },
});

/** Run the fused scan kernel on the active backend. */
export function runScanKernel(inputs: { z: tf.Tensor; w: tf.Tensor; h0?: tf.Tensor; bias?: tf.Tensor }, attrs: ScanAttrs): tf.Tensor3D {
  return scanOp.run([inputs.z, inputs.w, inputs.h0, inputs.bias], attrs) as tf.Tensor3D;
}

// ---------------------------------------------------------------------------------------------
// The fused LSTM: `OrthoquantLstmScan` [gates, W_hh, h0?, c0?] → [H, C, S] (C and S are saved
// for the gradient and dropped by the op), `OrthoquantLstmScanGrad`
// [dH, H, C, S, W_hh, h0?, c0?] → [dgates, dW_hh, dh0?, dc0?].

export const LSTM_KERNEL = 'OrthoquantLstmScan';
export const LSTM_GRAD_KERNEL = 'OrthoquantLstmScanGrad';

export interface LstmAttrs extends FusedAttrs {
  hasH0: boolean;
  hasC0: boolean;
}

export const lstmOp = defineFusedOp<LstmAttrs, LstmImplementation>({
  kernelName: LSTM_KERNEL,
  gradKernelName: LSTM_GRAD_KERNEL,
  implementations: LSTM_IMPLEMENTATIONS,
  forward: ({ inputs, attrs: a, impl, io }) => {
    const [gates, w, h0, c0] = withOptionals(inputs, 2, a.hasH0, a.hasC0);
    for (const [name, t] of Object.entries({ gates, w, h0, c0 })) if (t) checkFloat(t, `${LSTM_KERNEL}: ${name}`);
    const [T, B, n4] = gates!.shape;
    const spec: LstmSpec = { T, B, n: n4 / 4 };
    const outs = [io.alloc([T, B, spec.n]), io.alloc([T, B, spec.n]), io.alloc([T, B, n4])];
    const inp = { gates: io.read(gates!), w: io.read(w!), h0: h0 ? io.read(h0) : null, c0: c0 ? io.read(c0) : null };
    impl.forward(spec, inp, { H: io.view(outs[0]), C: io.view(outs[1]), S: io.view(outs[2]) }, a.threads);
    return outs.map((o) => io.finish(o));
  },
  backward: ({ inputs, attrs: a, impl, io }) => {
    const [dH, H, C, S, w, h0, c0] = withOptionals(inputs, 5, a.hasH0, a.hasC0);
    for (const [name, t] of Object.entries({ dH, H, C, S, w, h0, c0 })) if (t) checkFloat(t, `${LSTM_GRAD_KERNEL}: ${name}`);
    const [T, B, n] = H!.shape;
    const spec: LstmSpec = { T, B, n };
    const outs = [io.alloc([T, B, 4 * n]), io.alloc([4 * n, n])];
    if (h0) outs.push(io.alloc([B, n]));
    if (c0) outs.push(io.alloc([B, n]));
    const inp = { gates: new Float32Array(0), w: io.read(w!), h0: h0 ? io.read(h0) : null, c0: c0 ? io.read(c0) : null };
    const g = {
      dgates: io.view(outs[0]),
      dw: io.view(outs[1]),
      dh0: h0 ? io.view(outs[2]) : null,
      dc0: c0 ? io.view(outs[h0 ? 3 : 2]) : null,
    };
    impl.backward(spec, inp, { H: io.read(H!), C: io.read(C!), S: io.read(S!) }, io.read(dH!), g, a.threads);
    return outs.map((o) => io.finish(o));
  },
  gradient: {
    // Inputs [gates, W_hh, h0 | placeholder, c0 | placeholder]: the gates are not needed (S is).
    inputsToSave: ['1', '2', '3'],
    outputsToSave: [true, true, true],
    // saved = [W_hh, h0, c0, H, C, S]; only H is visible, so only dL/dH matters.
    inputs: (dH, [w, h0, c0, H, C, S]) => [dH, H, C, S, w, h0, c0],
    grads: (outs, [, h0, c0], a) => {
      const [dgates, dw] = outs;
      const dh0 = a.hasH0 ? outs[2] : undefined;
      const dc0 = a.hasC0 ? outs[a.hasH0 ? 3 : 2] : undefined;
      return { 0: () => dgates, 1: () => dw, 2: () => dh0 ?? tf.zerosLike(h0), 3: () => dc0 ?? tf.zerosLike(c0) };
    },
  },
});

/** Run the fused LSTM kernel; returns H and drops the saved-only outputs C and S. */
export function runLstmKernel(inputs: { gates: tf.Tensor; w: tf.Tensor; h0?: tf.Tensor; c0?: tf.Tensor }, attrs: LstmAttrs): tf.Tensor3D {
  const [H, C, S] = lstmOp.run([inputs.gates, inputs.w, inputs.h0, inputs.c0], attrs) as tf.Tensor[];
  tf.dispose([C, S]);
  return H as tf.Tensor3D;
}
