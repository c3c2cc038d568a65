/**
 * The tensor runtime: one tfjs instance for every package, and the choice of its backend.
 *
 * Order for `auto`: `@tensorflow/tfjs-node-gpu` → `@tensorflow/tfjs-node` → wasm → cpu,
 * whichever is installed and initialises. The two tfjs-node packages are optional (their
 * install downloads libtensorflow, impossible on some machines): they are detected at run
 * time. The choice is logged. Override with `--backend` or `ORTHOQUANT_BACKEND`.
 *
 * On wasm, the MatMul gradient is re-registered so that backward products use explicit
 * transposes instead of the transpose flags (wasm's transposed MatMul is far slower).
 */
import { tf, requireBundle } from './tf.js';
import { log } from './log.js';
import { BACKEND_CHOICES, parseChoice, setting, type BackendChoice } from './settings.js';

export { tf, BACKEND_CHOICES };
export type { BackendChoice };

export interface BackendInfo {
  /** What was asked for (`auto` unless told). */
  requested: BackendChoice;
  /** Our name of what runs: gpu, node, wasm or cpu. */
  choice: Exclude<BackendChoice, 'auto'>;
  /** tfjs's backend name (`tensorflow`, `wasm`, `cpu`). */
  tfBackend: string;
  tfjsVersion: string;
  /** Why each earlier candidate was passed over (auto only). */
  skipped: { choice: string; reason: string }[];
}

const NODE_PACKAGES = { gpu: '@tensorflow/tfjs-node-gpu', node: '@tensorflow/tfjs-node' } as const;

/** Parse a backend name from a flag or the environment; a clear error otherwise. */
export function parseBackendChoice(value: string | undefined, source = 'backend'): BackendChoice {
  if (value === undefined || value === '') return 'auto';
  return parseChoice(BACKEND_CHOICES, value, source, { fold: true });
}

let current: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;

/** What runs now, or null before `initBackend`. */
export function backendInfo(): BackendInfo | null {
  return current;
}

/**
 * Choose and initialise the backend (idempotent: later calls with the same request return
 * the first answer; a different explicit request switches).
 */
export async function initBackend(requested?: BackendChoice | string): Promise<BackendInfo> {
  const want = requested === undefined ? setting('backend') : parseBackendChoice(requested, '--backend');
  if (current && (want === 'auto' || want === current.choice)) return current;
  if (pending) {
    const info = await pending;
    if (want === 'auto' || want === info.choice) return info;
  }
  pending = choose(want);
  try {
    current = await pending;
  } finally {
    pending = null;
  }
  log().info({ backend: current.choice, tfBackend: current.tfBackend, skipped: current.skipped }, `tfjs backend: ${current.choice}`);
  return current;
}

async function choose(want: BackendChoice): Promise<BackendInfo> {
  const order: Exclude<BackendChoice, 'auto'>[] = want === 'auto' ? ['gpu', 'node', 'wasm', 'cpu'] : [want];
  const skipped: { choice: string; reason: string }[] = [];
  for (const choice of order) {
    try {
      const tfBackend = await activate(choice);
      return { requested: want, choice, tfBackend, tfjsVersion: tf.version.tfjs, skipped };
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      if (want !== 'auto') {
        const hint =
          choice === 'gpu' || choice === 'node'
            ? ` (install ${NODE_PACKAGES[choice]}@${tf.version.tfjs}; its install downloads libtensorflow, so it needs internet access)`
            : '';
        throw new Error(`backend '${choice}' is not available: ${reason}${hint}`);
      }
      skipped.push({ choice, reason });
    }
  }
  throw new Error(`no tfjs backend could be initialised: ${skipped.map((s) => `${s.choice}: ${s.reason}`).join('; ')}`);
}

async function activate(choice: Exclude<BackendChoice, 'auto'>): Promise<string> {
  if (choice === 'gpu' || choice === 'node') {
    const pkg = NODE_PACKAGES[choice];
    // A variable module name keeps bundlers and tsc from resolving the optional package.
    requireBundle(pkg);
    if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but the 'tensorflow' backend did not initialise`);
    return 'tensorflow';
  }
  if (choice === 'wasm') {
    requireBundle('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
    await tf.ready();
    registerFastMatMulGradient();
    return 'wasm';
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
  await tf.ready();
  return 'cpu';
}

/** Swap the last two axes. */
function swapLast(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  const r = x.rank;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return tf.transpose(x, perm);
}

/** Sum a broadcast gradient back to the shape of the input it belongs to. */
function unbroadcast(grad: tf.Tensor, shape: number[]): tf.Tensor {
  if (grad.rank === shape.length && grad.shape.every((d, i) => d === shape[i])) return grad;
  const lead = grad.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < grad.rank - 2; i++) {
    const si = i - lead;
    if (si < 0 || shape[si] === 1) axes.push(i);
  }
  const summed = axes.length ? tf.sum(grad, axes, true) : grad;
  return tf.reshape(summed, shape);
}

let fastGradRegistered = false;
/**
 * Gradient of C = op(A)·op(B) with materialised transposes (no transpose flags), used on
 * wasm whose flagged MatMul runs ~10× slower than the plain one.
 */
export function registerFastMatMulGradient(): void {
  if (fastGradRegistered) return;
  fastGradRegistered = true;
  tf.registerGradient({
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved;
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const g = dy as tf.Tensor;
      const mm = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y);
      let da: () => tf.Tensor;
      let db: () => tf.Tensor;
      if (!transposeA && !transposeB) {
        da = () => mm(g, swapLast(b));
        db = () => mm(swapLast(a), g);
      } else if (!transposeA && transposeB) {
        da = () => mm(g, b);
        db = () => mm(swapLast(g), a);
      } else if (transposeA && !transposeB) {
        da = () => mm(b, swapLast(g));
        db = () => mm(a, g);
      } else {
        da = () => mm(swapLast(b), swapLast(g));
        db = () => mm(swapLast(g), swapLast(a));
      }
      return { a: () => unbroadcast(da(), a.shape), b: () => unbroadcast(db(), b.shape) };
    },
  });
}
