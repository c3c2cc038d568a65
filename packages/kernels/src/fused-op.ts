/**
 * The machinery of the fused tfjs ops, written once: `defineFusedOp` turns a description — the
 * forward and gradient kernels, the gradient's saved tensors and how its outputs map to the op's
 * inputs, the implementations to choose from — into a registered op (tfjs-backend-wasm's
 * KernelConfig / GradConfig as data): each kernel registered for a backend on first use there,
 * the gradient once, and `run` with optional inputs, shared saves and the implementation named
 * in the attributes.
 *
 * Tensor data crosses without copies where the backend allows it (`ioFor`):
 * - wasm: inputs are read as views of the wasm heap and outputs are allocated on the heap
 *   first (`makeOutput`) and written in place — zero copies of T·B·n size. Every heap view is
 *   taken after the last heap allocation of the call, so no view can be detached by growth.
 * - cpu: `readSync` returns the stored array and `write` stores the given one — zero copies.
 * - any other backend (tensorflow, webgl): `readSync` / `write`, one copy each way.
 * On wasm the tensors saved for the gradient share the data instead of copying it
 * (`withSharedSaves`).
 */
import { tf, setting } from '@orthoquant/runtime';
import { implementationNamed } from './implementation.js';
import type { KernelImplementation, OpImplementations } from './implementation.js';

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

/** An int32 tensor's data: a heap view on wasm, the stored array on cpu and others. */
export function readInt32(t: Info, backendName: string, backend: unknown, what: string): Int32Array {
  if (t.dtype !== 'int32') throw new Error(`${what}: expected an int32 tensor, got ${t.dtype}`);
  const wasm = backend as { typedArrayFromHeap?: (t: Info) => Int32Array };
  if (backendName === 'wasm' && typeof wasm.typedArrayFromHeap === 'function') return wasm.typedArrayFromHeap(t);
  const v = (backend as { readSync(id: tf.DataId): unknown }).readSync(t.dataId);
  if (!(v instanceof Int32Array)) throw new Error(`${what}: backend '${backendName}' returned ${Object.prototype.toString.call(v)} for an int32 tensor`);
  return v;
}

/** The placeholder of an absent optional input (never read by the kernels). */
export function placeholder(): tf.Tensor {
  return tf.zeros([1]);
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

// ---------------------------------------------------------------------------------------------
// defineFusedOp.

/** Attributes every fused op carries: the implementation to run and its threads. */
export interface FusedAttrs {
  threads: number;
  implementation: KernelImplementation;
}

/** What a kernel of a fused op is given. */
export interface KernelCall<A, I> {
  /** The kernel's inputs in order (absent optional inputs are placeholders: see the attributes). */
  inputs: Info[];
  attrs: A;
  /** The implementation the attributes name. */
  impl: I;
  /** Input data and output allocation on this backend (allocate every output before the first view). */
  io: TensorIo<unknown>;
  /** An int32 input's data. */
  readInt32(t: Info, what: string): Int32Array;
}

export interface FusedOpConfig<A extends FusedAttrs, I> {
  kernelName: string;
  gradKernelName: string;
  /** The implementations the kernels choose from by `attrs.implementation`. */
  implementations: OpImplementations<I>;
  /** The forward kernel: the op's outputs. */
  forward(call: KernelCall<A, I>): Info | Info[];
  /** The gradient kernel: inputs as `gradient.inputs` lists them. */
  backward(call: KernelCall<A, I>): Info[];
  gradient: {
    /** The op's inputs kept for the gradient (names, or positions '0', '1', … of a list). */
    inputsToSave: string[];
    /** Which of the op's outputs are kept (after the saved inputs in `saved`). */
    outputsToSave?: boolean[];
    /** The gradient kernel's inputs from dL/d(first output) and the saved tensors. */
    inputs(dy: tf.Tensor, saved: tf.Tensor[], attrs: A): tf.Tensor[] | tf.NamedTensorMap;
    /** dL/d(each input of the op) from the gradient kernel's outputs. */
    grads(outs: tf.Tensor[], saved: tf.Tensor[], attrs: A, dy: tf.Tensor): Record<string, () => tf.Tensor>;
  };
}

export interface FusedOp<A extends FusedAttrs> {
  kernelName: string;
  gradKernelName: string;
  /** Register both kernels for the active backend (once per backend) and the gradient (once). */
  register(): void;
  /**
   * Run the op on the active backend (registering it first). A list of inputs may hold null or
   * undefined for an absent optional input: a one-value placeholder takes its position, so that
   * the positions (and what the gradient saves) are fixed; the attributes say what is present.
   */
  run(inputs: (tf.Tensor | null | undefined)[] | tf.NamedTensorMap, attrs: A): tf.Tensor | tf.Tensor[];
}

function listOf(inputs: tf.NamedTensorInfoMap): Info[] {
  return Object.keys(inputs).map((k) => inputs[k] as Info);
}

/** A fused op from its description (see FusedOpConfig). */
export function defineFusedOp<A extends FusedAttrs, I>(config: FusedOpConfig<A, I>): FusedOp<A> {
  const kernel = (body: (call: KernelCall<A, I>) => Info | Info[], backendName: string): tf.KernelFunc => ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as A;
    return body({
      inputs: listOf(inputs),
      attrs: a,
      impl: implementationNamed(config.implementations, a.implementation),
      io: ioFor(backendName, backend) as TensorIo<unknown>,
      readInt32: (t, what) => readInt32(t, backendName, backend, what),
    });
  };
  let gradientRegistered = false;
  const register = (): void => {
    const backendName = tf.getBackend();
    if (!tf.getKernel(config.kernelName, backendName)) {
      tf.registerKernel({ kernelName: config.kernelName, backendName, kernelFunc: kernel(config.forward, backendName) });
      tf.registerKernel({ kernelName: config.gradKernelName, backendName, kernelFunc: kernel(config.backward, backendName) });
    }
    if (gradientRegistered) return;
    gradientRegistered = true;
    const { inputsToSave, outputsToSave, inputs, grads } = config.gradient;
    tf.registerGradient({
      kernelName: config.kernelName,
      inputsToSave,
      ...(outputsToSave ? { outputsToSave } : {}),
      gradFunc: (dys, saved, attrs) => {
        const a = attrs as unknown as A;
        const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
        const outs = tf.engine().runKernel(config.gradKernelName, inputs(dy, saved, a) as unknown as tf.NamedTensorMap, attrs) as tf.Tensor[];
        return grads(outs, saved, a, dy);
      },
    });
  };
  const run = (inputs: (tf.Tensor | null | undefined)[] | tf.NamedTensorMap, attrs: A): tf.Tensor | tf.Tensor[] => {
    register();
    const none = Array.isArray(inputs) && inputs.some((t) => !t) ? placeholder() : null;
    try {
      const list = Array.isArray(inputs) ? inputs.map((t) => t ?? none!) : inputs;
      return withSharedSaves(() => tf.engine().runKernel(config.kernelName, list as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[]);
    } finally {
      none?.dispose();
    }
  };
  return { kernelName: config.kernelName, gradKernelName: config.gradKernelName, register, run };
}
