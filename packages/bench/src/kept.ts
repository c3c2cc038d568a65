/**
 * Bytes a training step keeps for its backward pass: the tensor bytes alive (tf.memory()) when
 * the backward pass starts, beyond what was alive before the forward (weights, the batch).
 * Measured by a pass-through op on the loss whose gradient, the first one the backward runs,
 * reads tf.memory(). Same forward as the trainer: the model's fused `trainingLoss` where it
 * applies, else the loss of `forward`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tf, createRng, initBackend } from '@orthoquant/runtime';
import { createModel } from '@orthoquant/models';
import type { ModelConfig } from '@orthoquant/models';
import { createTask, batchToTensors } from '@orthoquant/tasks';
import type { Batch } from '@orthoquant/tasks';
import { lossTensor, modelIO, parseTrialConfig } from '@orthoquant/train';

export function bytesKeptForBackward(config: unknown): number {
  const cfg = parseTrialConfig(config);
  const task = createTask(cfg.task as Record<string, unknown>, { trialSeed: cfg.seed });
  const model = createModel(cfg.model as ModelConfig, modelIO(task), cfg.seed);
  const batch = task.epochBatches('train', cfg.batchSize, createRng(cfg.seed).fork('data').fork(0)).next().value as Batch;
  const { x, y } = batchToTensors(batch, task.inputDim);
  try {
    const g = model.trainableVariables();
    const vars = [...g.orthogonal, ...g.other, ...g.managed.map((m) => m.variable)];
    const before = tf.memory().numBytes;
    let atBackward = -1;
    const probe = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const l = args[0] as tf.Tensor;
      return {
        value: l.clone(),
        gradFunc: (dy: tf.Tensor) => {
          atBackward = tf.memory().numBytes;
          return dy.clone();
        },
      };
    });
    const r = tf.variableGrads(() => {
      const fused = task.loss === 'softmax-cross-entropy' ? model.trainingLoss?.(x, y) : null;
      return probe(fused ? fused.loss : lossTensor(model.forward(x), y, task.loss)) as tf.Scalar;
    }, vars);
    tf.dispose([r.value, ...Object.values(r.grads)]);
    if (atBackward < 0) throw new Error('bytesKeptForBackward: the backward pass did not reach the probe');
    return atBackward - before;
  } finally {
    tf.dispose([x, y]);
    model.dispose();
  }
}

const SELF = fileURLToPath(import.meta.url);

/**
 * `bytesKeptForBackward` in a child process of its own, so that the measurement (a second model
 * and step) cannot raise the peak RSS of the case that asks for it.
 */
export function bytesKeptForBackwardInChild(config: unknown): number {
  const r = spawnSync(process.execPath, [...process.execArgv, SELF, JSON.stringify(config)], { encoding: 'utf8', timeout: 10 * 60_000, env: { ...process.env, ORTHOQUANT_LOG_LEVEL: 'error' } });
  const bytes = Number((r.stdout ?? '').trim().split('\n').pop());
  if (r.status !== 0 || !Number.isFinite(bytes)) throw new Error(`bytesKeptForBackward child failed (exit ${r.status}): ${(r.stderr ?? '').trim().slice(-500)}`);
  return bytes;
}

if (process.argv[1] === SELF) {
  await initBackend();
  console.log(bytesKeptForBackward(JSON.parse(process.argv[2] ?? 'null')));
}
