import { tf } from '@orthoquant/runtime';

/** How the backward pass treats a quantizer (a straight-through estimator, STE). */
export type SteKind = 'identity' | 'clipped';

/**
 * Wrap a forward quantizer in a straight-through estimator (`tf.customGrad`).
 *
 * - Forward: `forward(x).value`.
 * - Backward: ∂L/∂x = ∂L/∂q where `pass` is true (everywhere when `pass` is absent,
 *   the identity STE), 0 elsewhere (the clipped STE).
 * - Everything `forward` computes from x (e.g. a scale α = max|x|) is a constant for the
 *   gradient: no gradient flows through it.
 */
export function withSte(x: tf.Tensor, forward: (x: tf.Tensor) => { value: tf.Tensor; pass?: tf.Tensor }): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const { value, pass } = forward(input);
    if (pass) save([pass]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => (pass ? tf.where(saved[0], dy, tf.zerosLike(dy)) : tf.clone(dy)),
    };
  });
  return op(x);
}
