/**
 * Training losses in tfjs, the same definitions as the tasks' `MetricAccumulator`:
 * - `softmax-cross-entropy`: mean over targets of logsumexp(z) − z_y;
 * - `sigmoid-cross-entropy`: mean of max(z, 0) − z·y + log(1 + e^{−|z|}).
 * Logits `[T, B, C]` / `[B, C]`, targets int32 of the matching leading shape.
 */
import { tf } from '@orthoquant/runtime';
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
    const picked = tf.sum(tf.mul(z, tf.oneHot(labels.toInt(), C)), 1);
    return tf.mean(tf.sub(tf.logSumExp(z, 1), picked)) as tf.Scalar;
  });
}
