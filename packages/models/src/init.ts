/**
 * Initialisations, drawn from our seeded `Rng` (identical on every backend):
 * - `glorotUniform(fanIn, fanOut)`: U[−a, a], a = √(6 / (fanIn + fanOut)) (U, V, gates);
 * - Haar-random orthogonal matrices come from `@orthoquant/orthogonal` (`randomOrthogonal`);
 * - `henaffSkew(n)`: the skew-symmetric A whose exponential is block-diagonal 2×2 rotations
 *   with angles θ ~ U[−π, π] (Henaff et al. 2016; expRNN's copy-task init);
 * - `cayleySkew(n)`: expRNN's Cayley init, A block-diagonal with entries −√((1 − cos s)/(1 + cos s)),
 *   s ~ U[0, π/2];
 * - `rotationBlocks(n)`: the matrix exp(henaffSkew) itself, for parameterizations that hold W.
 */
import type { Rng } from '@orthoquant/runtime';

export function glorotUniform(rng: Rng, fanIn: number, fanOut: number, count = fanIn * fanOut): Float32Array {
  const a = Math.sqrt(6 / (fanIn + fanOut));
  return rng.uniformArray(count, -a, a);
}

export function identity(n: number): Float32Array {
  const w = new Float32Array(n * n);
  for (let i = 0; i < n; i++) w[i * n + i] = 1;
  return w;
}

function blockSkew(n: number, values: (i: number) => number): Float32Array {
  const a = new Float32Array(n * n);
  for (let b = 0; b + 1 < n; b += 2) {
    const v = values(b / 2);
    a[b * n + b + 1] = v;
    a[(b + 1) * n + b] = -v;
  }
  return a;
}

export function henaffSkew(rng: Rng, n: number): Float32Array {
  return blockSkew(n, () => rng.uniformIn(-Math.PI, Math.PI));
}

export function cayleySkew(rng: Rng, n: number): Float32Array {
  return blockSkew(n, () => {
    const s = rng.uniformIn(0, Math.PI / 2);
    return -Math.sqrt((1 - Math.cos(s)) / (1 + Math.cos(s)));
  });
}

/** exp(A) for the block-diagonal skew A of `henaffSkew`/`cayleySkew`: 2×2 rotations. */
export function expBlockSkew(a: Float32Array, n: number): Float32Array {
  const w = identity(n);
  for (let b = 0; b + 1 < n; b += 2) {
    const t = a[b * n + b + 1];
    const c = Math.cos(t);
    const s = Math.sin(t);
    w[b * n + b] = c;
    w[b * n + b + 1] = s;
    w[(b + 1) * n + b] = -s;
    w[(b + 1) * n + b + 1] = c;
  }
  return w;
}
