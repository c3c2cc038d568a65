/**
 * The fused scans registered with tfjs as two kernels (`tf.registerKernel`, one per backend,
 * on first use) and one gradient (`tf.registerGradient`):
 *
 * - `OrthoquantFusedScan`      inputs [z, w, h0?, bias?] → H
 * - `OrthoquantFusedScanGrad`  inputs [dy, H, w, h0?, bias?] → [dz, dw, dh0?, dbias?]
 * (inputs as arrays, like tfjs's Concat; an absent h0 / bias is a one-value placeholder, so
 * the positions are fixed and the gradient saves exactly w, h0, bias — not z — and H.)
 *
 * Tensor data crosses without copies where the backend allows it:
 * - wasm: inputs are read as views of the wasm heap and outputs are allocated on the heap
 *   first (`makeOutput`) and written in place — zero copies of T·B·n size. Every heap view is
 *   taken after the last heap allocation of the call, so no view can be detached by growth.
 * - cpu: `readSync` returns the stored array and `write` stores the given one — zero copies.
 * - any other backend (tensorflow, webgl): `readSync` / `write`, one copy each way.
 * The gradient saves w, h0, bias and the output H (no z, no pre-activation: σ' is read off H);
 * on wasm the saves share the data instead of copying it (`withSharedSaves`).
 */
import { tf, setting } from '@orthoquant/runtime';
import type { Activation, RecurrenceKind, ScanImplementation, ScanSpec } from './scan-spec.js';
import type { LstmImplementation, LstmSpec } from './lstm-spec.js';

export const SCAN_KERNEL = 'OrthoquantFusedScan';
export const SCAN_GRAD_KERNEL = 'OrthoquantFusedScanGrad';

export interface ScanAttrs {
  kind: RecurrenceKind;
  activation: Activation;
  blockSize: number;
  /** Hadamard orders p·2^k: p and H_p (row-major ±1); absent for powers of two. */
  p?: number;
  hp?: number[];
  hasH0: boolean;
  hasBias: boolean;
  threads: number;
  implementation: 'native' | 'js';
}

type Info = tf.TensorInfo;

/** How one backend hands out input data and takes output data. */
export interface TensorIo<Out> {
  alloc(shape: number[]): Out;
  view(out: Out): Float32Array;
  read(t: Info): Float32Array;
  finish(out: Out): Info;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): Info;
  typedArrayFromHeap(t: Info): Float32Array;
}
interface GenericBackendLike {
  readSync(dataId: tf.DataId): unknown;
  write(values: Float32Array, shape: number[], dtype: 'float32'): tf.DataId;
}

export function checkFloat(t: Info, what: string): void {
  if (t.dtype !== 'float32') throw new Error(`${what}: expected a float32 tensor, got ${t.dtype}`);
}

interface HostBuffer {
  shape: number[];
  data: Float32Array;
}

export function ioFor(backendName: string, backend: unknown): TensorIo<Info> | TensorIo<HostBuffer> {
  const wasm = backend as WasmBackendLike;
  if (backendName === 'wasm' && typeof wasm.typedArrayFromHeap === 'function' && typeof wasm.makeOutput === 'function') {
    const io: TensorIo<Info> = {
      alloc: (shape) => wasm.makeOutput(shape, 'float32'),
      view: (out) => wasm.typedArrayFromHeap(out),
      read: (t) => wasm.typedArrayFromHeap(t),
      finish: (out) => out,
    };
    return io;
  }
  const gen = backend as GenericBackendLike;
  const io: TensorIo<HostBuffer> = {
    alloc: (shape) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }),
    view: (out) => out.data,
    read: (t) => {
      const v = gen.readSync(t.dataId);
      if (!(v instanceof Float32Array)) throw new Error(`kernels: backend '${backendName}' returned ${Object.prototype.toString.call(v)} for a float32 tensor`);
      return v;
    },
    finish: (out) => ({ dataId: gen.write(out.data, out.shape, 'float32'), shape: out.shape, dtype: 'float32' as const }),
  };
  return io;
}

/**
 * [fixed inputs…, h0?, bias?] from an array-like input map. The optionals always occupy their
 * two positions (a one-value placeholder when absent, so that the gradient can name exactly
 * the inputs it saves); absent ones come back as undefined.
 */
function unpack(inputs: tf.NamedTensorInfoMap, fixed: number, a: ScanAttrs): (Info | undefined)[] {
  const list = Object.keys(inputs).map((k) => inputs[k]);
  const out = list.slice(0, fixed);
  out.push(a.hasH0 ? list[fixed] : undefined);
  out.push(a.hasBias ? list[fixed + 1] : undefined);
  return out;
}

/** The p-stage of a Hadamard order p·2^k carried by kernel attributes (p, hp as a number list). */
export function kronOrder(a: { p?: number; hp?: number[] }): { p?: number; hp?: Int8Array } {
  return a.p !== undefined && a.p > 1 ? { p: a.p, hp: Int8Array.from(a.hp ?? []) } : {};
}

/** The placeholder of an absent optional input (never read by the kernels). */
export function placeholder(): tf.Tensor {
  return tf.zeros([1]);
}

function specOf(a: ScanAttrs, z: { shape: number[] }): ScanSpec {
  const [T, B, n] = z.shape;
  return { kind: a.kind, activation: a.activation, T, B, n, blockSize: a.blockSize, ...kronOrder(a) };
}

// ---------------------------------------------------------------------------------------------
// Saving inputs and outputs for the gradient without copying them.
//
// The engine saves a kernel's `inputsToSave` / `outputsToSave` as `keep(clone(t))`, and clone
// runs the backend's Identity kernel — which on wasm copies the data (tens of MB per T·B·n
// tensor, ~10 ms each at the copy task's shape). While one of our kernels runs, Identity on
// wasm is swapped for a kernel that shares the data and counts a reference, exactly what the
// wasm backend's own Reshape does: tfjs never writes a tensor's data in place, so the saved
// alias and the original cannot diverge, and the data is freed when both are disposed.

interface RefCountingBackend {
  incRef(dataId: tf.DataId): void;
}

function sharingIdentity(): tf.KernelFunc {
  return ({ inputs, backend }) => {
    const x = inputs.x as Info;
    (backend as unknown as RefCountingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/** Run `fn` (one runKernel of ours) with the wasm Identity sharing data instead of copying. */
export function withSharedSaves<R>(fn: () => R): R {
  const backendName = tf.getBackend();
  const backend = tf.backend() as unknown as Partial<RefCountingBackend>;
  const original = backendName === 'wasm' && typeof backend.incRef === 'function' ? tf.getKernel('Identity', backendName) : undefined;
  if (!original || !setting('sharedSaves')) return fn();
  tf.unregisterKernel('Identity', backendName);
  tf.registerKernel({ kernelName: 'Identity', backendName, kernelFunc: sharingIdentity() });
  try {
    return fn();
  } finally {
    tf.unregisterKernel('Identity', backendName);
    tf.registerKernel(original);
  }
}

let implementations: { native: ScanImplementation | null; js: ScanImplementation } | null = null;
function implementationOf(a: ScanAttrs): ScanImplementation {
  const impl = implementations?.[a.implementation];
  if (!impl) throw new Error(`kernels: implementation '${a.implementation}' is not available`);
  return impl;
}

function scanKernelFunc(backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as ScanAttrs;
    const [z, w, h0, bias] = unpack(inputs, 2, a);
    for (const [name, t] of Object.entries({ z, w, h0, bias })) if (t) checkFloat(t, `${SCAN_KERNEL}: ${name}`);
    const spec = specOf(a, z!);
    const io = ioFor(backendName, backend) as TensorIo<unknown>;
    const out = io.alloc([spec.T, spec.B, spec.n]);
    // Views only after the allocation above (a wasm heap growth would detach earlier ones).
    const inp = { z: io.read(z!), w: io.read(w!), h0: h0 ? io.read(h0) : null, bias: bias ? io.read(bias) : null };
    implementationOf(a).forward(spec, inp, io.view(out), a.threads);
    return io.finish(out);
  };
}

function scanGradKernelFunc(backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as ScanAttrs;
    const [dy, H, w, h0, bias] = unpack(inputs, 3, a);
    for (const [name, t] of Object.entries({ dy, H, w, h0, bias })) if (t) checkFloat(t, `${SCAN_GRAD_KERNEL}: ${name}`);
    const spec = specOf(a, H!);
    const { T, B, n } = spec;
    const io = ioFor(backendName, backend) as TensorIo<unknown>;
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
    implementationOf(a).backward(spec, inp, io.read(H!), io.read(dy!), g, a.threads);
    return outs.map((o) => io.finish(o));
  };
}

let gradientRegistered = false;

/** Register the kernels for the active backend (once per backend) and the gradient (once). */
export function ensureRegistered(impls: { native: ScanImplementation | null; js: ScanImplementation }): void {
  implementations = impls;
  const backendName = tf.getBackend();
  if (!tf.getKernel(SCAN_KERNEL, backendName)) {
    tf.registerKernel({ kernelName: SCAN_KERNEL, backendName, kernelFunc: scanKernelFunc(backendName) });
    tf.registerKernel({ kernelName: SCAN_GRAD_KERNEL, backendName, kernelFunc: scanGradKernelFunc(backendName) });
  }
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: SCAN_KERNEL,
    // Inputs [z, w, h0 | placeholder, bias | placeholder]: z is not needed (σ' is read off H).
    inputsToSave: ['1', '2', '3'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const a = attrs as unknown as ScanAttrs;
      const [w, h0, bias, H] = saved;
      const inputs = [dy as tf.Tensor, H, w, h0, bias];
      const outs = tf.engine().runKernel(SCAN_GRAD_KERNEL, inputs as unknown as tf.NamedTensorMap, attrs) as tf.Tensor[];
      // Outs: dz, dw, then dh0 and dbias when present; a placeholder's gradient is zeros.
      const [dz, dw] = outs;
      const dh0 = a.hasH0 ? outs[2] : undefined;
      const dbias = a.hasBias ? outs[a.hasH0 ? 3 : 2] : undefined;
      return { 0: () => dz, 1: () => dw, 2: () => dh0 ?? tf.zerosLike(h0), 3: () => dbias ?? tf.zerosLike(bias) };
    },
  });
}

/** Run the fused scan kernel on the active backend. */
export function runScanKernel(inputs: { z: tf.Tensor; w: tf.Tensor; h0?: tf.Tensor; bias?: tf.Tensor }, attrs: ScanAttrs): tf.Tensor3D {
  const none = placeholder();
  try {
    const list = [inputs.z, inputs.w, inputs.h0 ?? none, inputs.bias ?? none];
    return withSharedSaves(() => tf.engine().runKernel(SCAN_KERNEL, list as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D);
  } finally {
    none.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// The fused LSTM: `OrthoquantLstmScan` [gates, W_hh, h0?, c0?] → [H, C, S] (C and S are saved
// for the gradient and dropped by the op), `OrthoquantLstmScanGrad`
// [dH, H, C, S, W_hh, h0?, c0?] → [dgates, dW_hh, dh0?, dc0?].

export const LSTM_KERNEL = 'OrthoquantLstmScan';
export const LSTM_GRAD_KERNEL = 'OrthoquantLstmScanGrad';

export interface LstmAttrs {
  hasH0: boolean;
  hasC0: boolean;
  threads: number;
  implementation: 'native' | 'js';
}

let lstmImplementations: { native: LstmImplementation | null; js: LstmImplementation } | null = null;
function lstmImplementationOf(a: LstmAttrs): LstmImplementation {
  const impl = lstmImplementations?.[a.implementation];
  if (!impl) throw new Error(`kernels: LSTM implementation '${a.implementation}' is not available`);
  return impl;
}

/** As `unpack`: h0 and c0 always at their positions, placeholders when absent. */
function optionals(inputs: tf.NamedTensorInfoMap, fixed: number, a: LstmAttrs): (Info | undefined)[] {
  const list = Object.keys(inputs).map((k) => inputs[k]);
  const out = list.slice(0, fixed);
  out.push(a.hasH0 ? list[fixed] : undefined);
  out.push(a.hasC0 ? list[fixed + 1] : undefined);
  return out;
}

function lstmKernelFunc(backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as LstmAttrs;
    const [gates, w, h0, c0] = optionals(inputs, 2, a);
    for (const [name, t] of Object.entries({ gates, w, h0, c0 })) if (t) checkFloat(t, `${LSTM_KERNEL}: ${name}`);
    const [T, B, n4] = gates!.shape;
    const spec: LstmSpec = { T, B, n: n4 / 4 };
    const io = ioFor(backendName, backend) as TensorIo<unknown>;
    const outs = [io.alloc([T, B, spec.n]), io.alloc([T, B, spec.n]), io.alloc([T, B, n4])];
    const inp = { gates: io.read(gates!), w: io.read(w!), h0: h0 ? io.read(h0) : null, c0: c0 ? io.read(c0) : null };
    lstmImplementationOf(a).forward(spec, inp, { H: io.view(outs[0]), C: io.view(outs[1]), S: io.view(outs[2]) }, a.threads);
    return outs.map((o) => io.finish(o));
  };
}

function lstmGradKernelFunc(backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as LstmAttrs;
    const [dH, H, C, S, w, h0, c0] = optionals(inputs, 5, a);
    for (const [name, t] of Object.entries({ dH, H, C, S, w, h0, c0 })) if (t) checkFloat(t, `${LSTM_GRAD_KERNEL}: ${name}`);
    const [T, B, n] = H!.shape;
    const spec: LstmSpec = { T, B, n };
    const io = ioFor(backendName, backend) as TensorIo<unknown>;
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
    lstmImplementationOf(a).backward(spec, inp, { H: io.read(H!), C: io.read(C!), S: io.read(S!) }, io.read(dH!), g, a.threads);
    return outs.map((o) => io.finish(o));
  };
}

let lstmGradientRegistered = false;

export function ensureLstmRegistered(impls: { native: LstmImplementation | null; js: LstmImplementation }): void {
  lstmImplementations = impls;
  const backendName = tf.getBackend();
  if (!tf.getKernel(LSTM_KERNEL, backendName)) {
    tf.registerKernel({ kernelName: LSTM_KERNEL, backendName, kernelFunc: lstmKernelFunc(backendName) });
    tf.registerKernel({ kernelName: LSTM_GRAD_KERNEL, backendName, kernelFunc: lstmGradKernelFunc(backendName) });
  }
  if (lstmGradientRegistered) return;
  lstmGradientRegistered = true;
  tf.registerGradient({
    kernelName: LSTM_KERNEL,
    // Inputs [gates, W_hh, h0 | placeholder, c0 | placeholder]: the gates are not needed (S is).
    inputsToSave: ['1', '2', '3'],
    outputsToSave: [true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const a = attrs as unknown as LstmAttrs;
      // saved = [W_hh, h0, c0, H, C, S]; only H is visible, so only dys[0] matters.
      const dH = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
      const [w, h0, c0, H, C, S] = saved;
      const inputs = [dH, H, C, S, w, h0, c0];
      const outs = tf.engine().runKernel(LSTM_GRAD_KERNEL, inputs as unknown as tf.NamedTensorMap, attrs) as tf.Tensor[];
      const [dgates, dw] = outs;
      const dh0 = a.hasH0 ? outs[2] : undefined;
      const dc0 = a.hasC0 ? outs[a.hasH0 ? 3 : 2] : undefined;
      return { 0: () => dgates, 1: () => dw, 2: () => dh0 ?? tf.zerosLike(h0), 3: () => dc0 ?? tf.zerosLike(c0) };
    },
  });
}

/** Run the fused LSTM kernel; returns H and drops the saved-only outputs C and S. */
export function runLstmKernel(inputs: { gates: tf.Tensor; w: tf.Tensor; h0?: tf.Tensor; c0?: tf.Tensor }, attrs: LstmAttrs): tf.Tensor3D {
  const none = placeholder();
  let outs: tf.Tensor[];
  try {
    const list = [inputs.gates, inputs.w, inputs.h0 ?? none, inputs.c0 ?? none];
    outs = withSharedSaves(() => tf.engine().runKernel(LSTM_KERNEL, list as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[]);
  } finally {
    none.dispose();
  }
  const [H, C, S] = outs;
  tf.dispose([C, S]);
  return H as tf.Tensor3D;
}
