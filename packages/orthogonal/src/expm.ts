/**
 * Matrix exponential of a tensor with its exact adjoint gradient.
 *
 * - Forward: scaling and squaring, X_s = X/2^s with ‖X_s‖₁ ≤ θ₇ = 0.9504 (Higham 2005,
 *   double-precision bound for degree 7), diagonal Padé [7/7] r(X_s) = Q⁻¹P with
 *   P = V + U, Q = V − U (U odd, V even part), then r^(2^s). Matmuls in tfjs (float32),
 *   the Padé solve in Float64 on the host.
 * - Backward: dL/dX = L(Xᵀ, G), the Fréchet derivative of exp at Xᵀ in direction G, which is
 *   the upper-right block of exp([[Xᵀ, G], [0, Xᵀ]]). It is computed with the same Padé
 *   scheme on block-upper-triangular pairs (A, E) ≡ [[A, E], [0, A]]: 3 n×n matmuls per pair
 *   product instead of an (2n)³ one.
 */
import { tf } from '@orthoquant/runtime';
import { luFactor, luSolve } from './linalg.js';
import { withGradient } from './grad.js';

const THETA7 = 0.9504178996162932;
const PADE7 = [17297280, 8648640, 1995840, 277200, 25200, 1512, 56, 1];

/** A block-upper-triangular matrix [[a, e], [0, a]]; e may be absent (plain matrix). */
interface Pair {
  a: tf.Tensor;
  e: tf.Tensor | null;
}

function mul(x: Pair, y: Pair): Pair {
  const a = tf.matMul(x.a, y.a);
  let e: tf.Tensor | null = null;
  if (x.e && y.e) e = tf.add(tf.matMul(x.a, y.e), tf.matMul(x.e, y.a));
  else if (x.e) e = tf.matMul(x.e, y.a);
  else if (y.e) e = tf.matMul(x.a, y.e);
  return { a, e };
}

function lin(terms: [number, Pair][], identity: number, n: number): Pair {
  let a: tf.Tensor = tf.mul(tf.eye(n), identity);
  let e: tf.Tensor | null = null;
  for (const [c, p] of terms) {
    a = tf.add(a, tf.mul(p.a, c));
    if (p.e) e = e ? tf.add(e, tf.mul(p.e, c)) : tf.mul(p.e, c);
  }
  return { a, e };
}

function hostSolve(lu: ReturnType<typeof luFactor>, b: tf.Tensor): tf.Tensor {
  const [n, k] = b.shape as [number, number];
  return tf.tensor2d(Float32Array.from(luSolve(lu, b.dataSync(), k)), [n, k]);
}

function oneNorm(x: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.sum(tf.abs(x), 0)).dataSync()[0]);
}

/** exp of the pair [[x, e], [0, x]] (e optional); returns { a: exp(x), e: L(x, e) }. */
function expmPair(x: tf.Tensor, e: tf.Tensor | null): Pair {
  const n = x.shape[0];
  const norm = oneNorm(x);
  if (!Number.isFinite(norm)) throw new Error(`expm: input has non-finite entries (1-norm ${norm})`);
  const s = norm > THETA7 ? Math.ceil(Math.log2(norm / THETA7)) : 0;
  const scale = 1 / 2 ** s;
  const x1: Pair = { a: tf.mul(x, scale), e: e ? tf.mul(e, scale) : null };
  const x2 = mul(x1, x1);
  const x4 = mul(x2, x2);
  const x6 = mul(x4, x2);
  const b = PADE7;
  const uInner = lin([[b[7], x6], [b[5], x4], [b[3], x2]], b[1], n);
  const u = mul(x1, uInner);
  const v = lin([[b[6], x6], [b[4], x4], [b[2], x2]], b[0], n);
  // R = Q⁻¹P with Q = V − U, P = V + U; for pairs: R_e = Q⁻¹(P_e − Q_e R_a).
  const qa = tf.sub(v.a, u.a);
  const pa = tf.add(v.a, u.a);
  const lu = luFactor(qa.dataSync(), n, 'expm');
  const ra = hostSolve(lu, pa);
  let r: Pair = { a: ra, e: null };
  if (e) {
    const pe = tf.add(v.e as tf.Tensor, u.e as tf.Tensor);
    const qe = tf.sub(v.e as tf.Tensor, u.e as tf.Tensor);
    r = { a: ra, e: hostSolve(lu, tf.sub(pe, tf.matMul(qe, ra))) };
  }
  for (let i = 0; i < s; i++) r = mul(r, r);
  return r;
}

/**
 * exp(X) for a square tensor X [n, n], differentiable (adjoint Fréchet derivative, see the
 * file header). Any square X works; skew-symmetric X gives an orthogonal result.
 */
export function expm(x: tf.Tensor2D): tf.Tensor2D {
  if (x.rank !== 2 || x.shape[0] !== x.shape[1]) throw new Error(`expm: expected a square matrix, got shape [${x.shape.join(', ')}]`);
  const op = withGradient((xIn: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xIn]);
    const value = tf.tidy(() => expmPair(xIn, null).a);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => expmPair(tf.transpose(saved[0]), dy).e as tf.Tensor),
    };
  });
  return op(x) as tf.Tensor2D;
}
