/**
 * Adam, RMSprop and SGD with PyTorch's update rules, written here (not tfjs's optimizers) so
 * that their whole state is ours to checkpoint and restore bit for bit:
 * - Adam: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr·(m/(1−β₁ᵗ)) / (√v/√(1−β₂ᵗ) + ε);
 * - RMSprop: v ← αv + (1−α)g², with momentum μ: b ← μb + g/(√v + ε), θ ← θ − lr·b
 *   (μ = 0: θ ← θ − lr·g/(√v + ε));
 * - SGD: with momentum μ: b ← μb + g, θ ← θ − lr·b.
 * Bias corrections are computed in float64 from the step count (no accumulated products),
 * so a restored optimizer continues exactly.
 */
import { tf } from '@orthoquant/runtime';

export type OptimizerName = 'adam' | 'rmsprop' | 'sgd';

export interface OptimizerSettings {
  name: OptimizerName;
  betas: [number, number];
  eps: number;
  alpha: number;
  momentum: number;
}

/** Named slot tensors (for checkpoints) plus the step count. */
export interface OptimizerState {
  step: number;
  slots: Record<string, { shape: number[]; data: Float32Array }>;
}

export class Optimizer {
  private t = 0;
  /** Slots per parameter, in the order of `params`. */
  private readonly slots: tf.Variable[][];

  /** `params` are named (the names key the checkpoint state). */
  constructor(
    readonly settings: OptimizerSettings,
    private readonly params: { name: string; variable: tf.Variable }[],
    public lr: number,
  ) {
    const count = settings.name === 'adam' ? 2 : settings.name === 'rmsprop' ? (settings.momentum > 0 ? 2 : 1) : settings.momentum > 0 ? 1 : 0;
    this.slots = params.map(({ variable }) =>
      Array.from({ length: count }, () => {
        const z = tf.zerosLike(variable);
        const slot = tf.variable(z, false);
        z.dispose();
        return slot;
      }),
    );
  }

  get stepCount(): number {
    return this.t;
  }

  /** One update; `grads[i]` belongs to `params[i]`. Does not dispose the gradients. */
  apply(grads: tf.Tensor[]): void {
    if (grads.length !== this.params.length) throw new Error(`optimizer: ${grads.length} gradients for ${this.params.length} parameters`);
    this.t++;
    const { name, betas, eps, alpha, momentum } = this.settings;
    const lr = this.lr;
    tf.tidy(() => {
      this.params.forEach(({ variable }, i) => {
        const g = grads[i];
        const s = this.slots[i];
        if (name === 'adam') {
          const [b1, b2] = betas;
          const m = tf.add(tf.mul(s[0], b1), tf.mul(g, 1 - b1));
          const v = tf.add(tf.mul(s[1], b2), tf.mul(tf.square(g), 1 - b2));
          s[0].assign(m);
          s[1].assign(v);
          const bc1 = 1 - Math.pow(b1, this.t);
          const bc2 = 1 - Math.pow(b2, this.t);
          const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), eps);
          variable.assign(tf.sub(variable, tf.mul(tf.div(m, denom), lr / bc1)));
        } else if (name === 'rmsprop') {
          const v = tf.add(tf.mul(s[0], alpha), tf.mul(tf.square(g), 1 - alpha));
          s[0].assign(v);
          let upd = tf.div(g, tf.add(tf.sqrt(v), eps));
          if (momentum > 0) {
            upd = tf.add(tf.mul(s[1], momentum), upd);
            s[1].assign(upd);
          }
          variable.assign(tf.sub(variable, tf.mul(upd, lr)));
        } else {
          let upd = g;
          if (momentum > 0) {
            upd = tf.add(tf.mul(s[0], momentum), g);
            s[0].assign(upd);
          }
          variable.assign(tf.sub(variable, tf.mul(upd, lr)));
        }
      });
    });
  }

  getState(): OptimizerState {
    const slots: OptimizerState['slots'] = {};
    this.params.forEach(({ name }, i) =>
      this.slots[i].forEach((s, k) => {
        slots[`${name}#${k}`] = { shape: [...s.shape], data: s.dataSync().slice() as Float32Array };
      }),
    );
    return { step: this.t, slots };
  }

  setState(state: OptimizerState): void {
    const expected = this.params.flatMap(({ name }, i) => this.slots[i].map((_, k) => `${name}#${k}`));
    const given = Object.keys(state.slots);
    const missing = expected.filter((k) => !(k in state.slots));
    if (missing.length || given.length !== expected.length) {
      throw new Error(`optimizer state does not match the model: expected slots ${expected.join(', ') || '(none)'}, got ${given.join(', ') || '(none)'}`);
    }
    this.params.forEach(({ name }, i) =>
      this.slots[i].forEach((s, k) => {
        const src = state.slots[`${name}#${k}`];
        if (src.data.length !== s.size) throw new Error(`optimizer state '${name}#${k}': ${src.data.length} values, expected ${s.size}`);
        tf.tidy(() => s.assign(tf.tensor(src.data, s.shape)));
      }),
    );
    this.t = state.step;
  }

  dispose(): void {
    for (const ss of this.slots) for (const s of ss) s.dispose();
  }
}

/** Global L2 norm of a list of gradients (one device sync). */
export function globalNorm(grads: tf.Tensor[]): number {
  if (grads.length === 0) return 0;
  return tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
}
