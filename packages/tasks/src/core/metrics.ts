/**
 * Reference scoring on plain typed arrays: the definitions of a task's metrics, in code.
 * The training loop computes the loss with tfjs; this is what it must agree with, and what
 * evaluation can use on downloaded logits.
 *
 * Logits are laid out like targets, with `outputDim` values per target:
 * many-to-many `[T·B·outputDim]` time-major, last-step `[B·outputDim]`.
 */
import type { Batch, MetricName, Task } from './task.js';

export type MetricValues = Partial<Record<MetricName, number>>;

export class MetricAccumulator {
  private lossSum = 0;
  private count = 0;
  private correct = 0;
  private windowCorrect = 0;
  private windowCount = 0;
  /** Class-1 confusion counts (sigmoid tasks): F1. */
  private tp = 0;
  private fp = 0;
  private fn = 0;
  private readonly lastSteps: number | undefined;

  constructor(private readonly task: Task) {
    this.lastSteps = task.metrics.find((m) => m.lastSteps !== undefined)?.lastSteps;
  }

  /** Add one batch's logits. */
  add(batch: Batch, logits: ArrayLike<number>): void {
    const { task } = this;
    const C = task.outputDim;
    const nTargets = batch.targets.length;
    if (logits.length !== nTargets * C) {
      throw new Error(`${task.name} metrics: logits length ${logits.length}, expected ${nTargets * C} (${nTargets} targets × outputDim ${C})`);
    }
    const windowFrom = task.outputMode === 'many-to-many' && this.lastSteps !== undefined ? (batch.T - this.lastSteps) * batch.B : Infinity;
    for (let i = 0; i < nTargets; i++) {
      const y = batch.targets[i];
      let loss: number;
      let hit: boolean;
      if (task.loss === 'sigmoid-cross-entropy') {
        const z = logits[i];
        // −[y log σ(z) + (1−y) log(1−σ(z))] = max(z,0) − z·y + log(1 + e^{−|z|})
        loss = Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
        hit = (z > 0 ? 1 : 0) === y;
        if (z > 0) {
          if (y === 1) this.tp++;
          else this.fp++;
        } else if (y === 1) this.fn++;
      } else {
        const o = i * C;
        let max = -Infinity;
        let arg = 0;
        for (let c = 0; c < C; c++) {
          if (logits[o + c] > max) {
            max = logits[o + c];
            arg = c;
          }
        }
        let sum = 0;
        for (let c = 0; c < C; c++) sum += Math.exp(logits[o + c] - max);
        loss = max + Math.log(sum) - logits[o + y];
        hit = arg === y;
      }
      this.lossSum += loss;
      this.count++;
      if (hit) this.correct++;
      if (i >= windowFrom) {
        this.windowCount++;
        if (hit) this.windowCorrect++;
      }
    }
  }

  /** Means over everything added so far, for each metric of the task. */
  result(): MetricValues {
    if (this.count === 0) throw new Error(`${this.task.name} metrics: no batch was added`);
    const out: MetricValues = {};
    for (const m of this.task.metrics) {
      if (m.name === 'loss') out.loss = this.lossSum / this.count;
      else if (m.name === 'accuracy') out.accuracy = this.correct / this.count;
      else if (m.name === 'bpc') out.bpc = this.lossSum / this.count / Math.LN2;
      else if (m.name === 'copyAccuracy') out.copyAccuracy = this.windowCount ? this.windowCorrect / this.windowCount : NaN;
      else if (m.name === 'f1') out.f1 = this.tp + this.fp + this.fn ? (2 * this.tp) / (2 * this.tp + this.fp + this.fn) : 0;
    }
    return out;
  }
}
