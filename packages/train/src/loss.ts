/**
 * Training losses in tfjs, the same definitions as the tasks' `MetricAccumulator`:
 * - `softmax-cross-entropy`: mean over targets of logsumexp(z) − z_y;
 * - `sigmoid-cross-entropy`: mean of max(z, 0) − z·y + log(1 + e^{−|z|}).
 * Logits `[T, B, C]` / `[B, C]`, targets int32 of the matching leading shape.
 */
import { tf, setting } from '@orthoquant/runtime';
import type { LossKind } from '@orthoquant/tasks';

export function lossTensor(logits: tf.Tensor, targets: tf.Tensor, kind: LossKind): tf.Scalar {
  return tf.tidy(() => {
    const C = logits.shape[logits.rank - 1];
    const labels = targets.reshape([-1]);
    if (kind === 'sigmoid-cross-entropy') {
      if (C !== 1) throw new Error(`sigmoid cross-entropy expects one logit per target, got ${C}`);
      const z = logits.reshape([-1]);
      const y = labels.toFloat();
      return tf.mean(tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))))) as tf.Scalar;
    }
    const z = logits.reshape([-1, C]);
    if (z.shape[0] !== labels.shape[0]) throw new Error(`loss: ${z.shape[0]} logit rows for ${labels.shape[0]} targets`);
    return softmaxCrossEntropy(z as tf.Tensor2D, tf.oneHot(labels.toInt(), C) as tf.Tensor2D);
  });
}

/**
 * Mean softmax cross-entropy of rows z `[N, C]` against one-hot rows, fused: the forward
 * keeps p = softmax(z) and the backward is (p − onehot)/N (no gradient through the max
 * shift, which in tfjs's logSumExp costs an Equal mask over all logits).
 */
function softmaxCrossEntropy(z: tf.Tensor2D, onehot: tf.Tensor2D): tf.Scalar {
  const N = z.shape[0];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [zi, oi] = args as tf.Tensor[];
    const save = args[2] as tf.GradSaveFunc;
    const m = tf.max(zi, 1, true);
    const e = tf.exp(tf.sub(zi, m));
    const s = tf.sum(e, 1, true);
    const lse = tf.add(tf.log(s), m);
    const loss = tf.mean(tf.sub(lse, tf.sum(tf.mul(zi, oi), 1, true)));
    save([tf.div(e, s), oi]);
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [p, o] = saved;
        return [tf.mul(tf.sub(p, o), tf.div(dy, N)), tf.zerosLike(o)];
      },
    };
  });
  return op(z, onehot) as tf.Scalar;
}

/**
 * Whether training uses a model's fused `trainingLoss` (readout + softmax cross-entropy in
 * one op) where it applies (default); `ORTHOQUANT_FUSED_LOSS=0` selects `lossTensor` on the
 * model's logits.
 */
export function fusedLoss(): boolean {
  return setting('fusedLoss');
}
