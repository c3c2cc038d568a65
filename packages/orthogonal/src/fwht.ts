/**
 * Fast Walsh–Hadamard transform (natural / Hadamard ordering = Sylvester's matrix).
 *
 * - y = H_n x in O(n log n) additions/subtractions, n = 2^k, in place.
 * - Block form: y = (I_{n/m} ⊗ H_m) x, transforming each block of m entries separately.
 * - `normalize` multiplies by 1/√m, making the transform orthogonal and an involution.
 * - H is symmetric, so the gradient of y = Hx is dx = H dy: the backward is the same transform.
 */
import { tf } from '@orthoquant/runtime';
import { isPowerOfTwo } from './hadamard.js';
import { withGradient } from './grad.js';

export interface FwhtOptions {
  /** Size m of the diagonal blocks (a power of two dividing n); default the whole row n. */
  blockSize?: number;
  /** Scale by 1/√m (orthonormal transform). Default false (plain ±1 matrix). */
  normalize?: boolean;
}

function checkSizes(n: number, m: number, who: string): void {
  if (!isPowerOfTwo(m)) throw new Error(`${who}: block size ${m} must be a power of two`);
  if (n % m !== 0) throw new Error(`${who}: block size ${m} must divide the row length ${n}`);
}

/**
 * In-place FWHT of the rows of a row-major [rows, n] Float32Array (a single vector when
 * rows = 1). Returns `x` itself.
 */
export function fwhtInPlace(x: Float32Array | Float64Array, n: number = x.length, options: FwhtOptions = {}): Float32Array | Float64Array {
  const m = options.blockSize ?? n;
  if (!Number.isInteger(n) || n < 1 || x.length % n !== 0) {
    throw new Error(`fwht: array length ${x.length} is not a multiple of the row length ${n}`);
  }
  checkSizes(n, m, 'fwht');
  const len = x.length;
  for (let base = 0; base < len; base += m) {
    for (let h = 1; h < m; h *= 2) {
      for (let i = base; i < base + m; i += 2 * h) {
        for (let j = i; j < i + h; j++) {
          const a = x[j];
          const b = x[j + h];
          x[j] = a + b;
          x[j + h] = a - b;
        }
      }
    }
  }
  if (options.normalize) {
    const s = 1 / Math.sqrt(m);
    for (let i = 0; i < len; i++) x[i] *= s;
  }
  return x;
}

/** y = H x along the last axis of a tensor (log₂ m butterfly stages of tfjs ops). */
function butterflies(x: tf.Tensor, m: number, normalize: boolean): tf.Tensor {
  const shape = x.shape;
  const n = shape[shape.length - 1];
  const rows = x.size / n;
  // [rows·n/m, m] → at stage with half-width h: [R, m/(2h), 2, h]; (a, b) → (a + b, a − b).
  let y = tf.reshape(x, [rows * (n / m), m]);
  for (let h = m / 2; h >= 1; h /= 2) {
    const r = tf.reshape(y, [-1, m / (2 * h), 2, h]);
    const [a, b] = tf.split(r, 2, 2);
    y = tf.reshape(tf.concat([tf.add(a, b), tf.sub(a, b)], 2), [-1, m]);
  }
  if (normalize) y = tf.mul(y, 1 / Math.sqrt(m));
  return tf.reshape(y, shape);
}

/**
 * Fast Walsh–Hadamard transform.
 * - On a Float32Array/Float64Array: in place on rows of length `options.rowLength ?? length`
 *   (a single vector, or a batch [B, n] stored row-major); returns the same array.
 * - On a tensor: y = x (I ⊗ H_m) along the last axis (H symmetric: = (I ⊗ H_m) x per row),
 *   differentiable; its gradient is the same transform of dy.
 */
export function fwht<T extends Float32Array | Float64Array>(x: T, options?: FwhtOptions & { rowLength?: number }): T;
export function fwht<T extends tf.Tensor>(x: T, options?: FwhtOptions): T;
export function fwht(x: Float32Array | Float64Array | tf.Tensor, options: FwhtOptions & { rowLength?: number } = {}): Float32Array | Float64Array | tf.Tensor {
  if (!(x instanceof tf.Tensor)) return fwhtInPlace(x, options.rowLength ?? x.length, options);
  if (x.rank < 1) throw new Error(`fwht: expected a tensor of rank >= 1, got rank ${x.rank}`);
  const n = x.shape[x.rank - 1];
  const m = options.blockSize ?? n;
  checkSizes(n, m, 'fwht');
  const normalize = options.normalize ?? false;
  const op = withGradient((input: tf.Tensor, save: tf.GradSaveFunc) => {
    save([]);
    return { value: butterflies(input, m, normalize), gradFunc: (dy: tf.Tensor) => butterflies(dy, m, normalize) };
  });
  return op(x);
}
