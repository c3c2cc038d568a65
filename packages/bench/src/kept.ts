/**
 * Bytes a training step keeps for its backward pass: the distinct tensor buffers the tfjs tape
 * holds (`saved` of every tape node; a save that shares an input's or output's data counts
 * once) when the backward pass starts. Read by a pass-through op on the loss whose gradient is
 * the first one the backward runs. Same forward as the trainer: the model's fused
 * `trainingLoss` where it applies, else the loss of `forward`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tf, createRng, initBackend, childEnv } from '@orthoquant/runtime';
import { createModel } from '@orthoquant/models';
import type { ModelConfig } from '@orthoquant/models';
import { createTask, batchToTensors } from '@orthoquant/tasks';
import type { Batch } from '@orthoquant/tasks';
import { lossTensor, modelIO, parseTrialConfig } from '@orthoquant/train';

interface TapeView {
  state: { activeTape: { saved?: tf.Tensor[] }[] | null };
}

/** Distinct buffers saved on the active tape, bytes. */
function savedBytes(): number {
  const tape = (tf.engine() as unknown as TapeView).state.activeTape;
  if (!tape) throw new Error('bytesKeptForBackward: no active tape (tfjs internals changed?)');
  const seen = new Set<unknown>();
  let bytes = 0;
  for (const node of tape) {
    for (const t of node.saved ?? []) {
      if (seen.has(t.dataId)) continue;
      seen.add(t.dataId);
      bytes += t.size * (t.dtype === 'int32' || t.dtype === 'float32' ? 4 : t.dtype === 'bool' ? 1 : 8);
    }
  }
  return bytes;
}

export function bytesKeptForBackward(config: unknown): number {
  const cfg = parseTrialConfig(config);
  const task = createTask(cfg.task as Record<string, unknown>, { trialSeed: cfg.seed });
  const model = createModel(cfg.model as ModelConfig, modelIO(task), cfg.seed);
  const batch = task.epochBatches('train', cfg.batchSize, createRng(cfg.seed).fork('data').fork(0)).next().value as Batch;
  // As the trainer's step builds it (run-trial.ts).
  const { x, y } = batchToTensors(batch, task.inputDim, { hotIndices: model.oneHotIndices === true });
  try {
    const g = model.trainableVariables();
    const vars = [...g.orthogonal, ...g.other, ...g.managed.map((m) => m.variable)];
    let atBackward = -1;
    const probe = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const l = args[0] as tf.Tensor;
      return {
        value: l.clone(),
        gradFunc: (dy: tf.Tensor) => {
          atBackward = savedBytes();
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
    return atBackward;
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
  const r = spawnSync(process.execPath, [...process.execArgv, SELF, JSON.stringify(config)], { encoding: 'utf8', timeout: 10 * 60_000, env: childEnv({ ORTHOQUANT_LOG_LEVEL: 'error' }) });
  const bytes = Number((r.stdout ?? '').trim().split('\n').pop());
  if (r.status !== 0 || !Number.isFinite(bytes)) throw new Error(`bytesKeptForBackward child failed (exit ${r.status}): ${(r.stderr ?? '').trim().slice(-500)}`);
  return bytes;
}

if (process.argv[1] === SELF) {
  await initBackend();
  console.log(bytesKeptForBackward(JSON.parse(process.argv[2] ?? 'null')));
}
