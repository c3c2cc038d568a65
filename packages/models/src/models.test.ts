import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, createRng, setEnvSetting } from '@orthoquant/runtime';
import { testBackend, expectArraysClose, expectNoLeaks, relativeError } from '@orthoquant/runtime/testing';
import { createModel, quantizeWeightsPostTraining } from './index.js';
import { affineRows, embeddingLookup, inputProjection } from './base.js';
import type { ModelConfig, RecurrentModel } from './index.js';
import type { HadamRnn } from './hadamrnn.js';
import { quantizeSte } from './quant.js';
import { TINY_IO, randomInputs, referenceRnnForward, stepwiseLstm, tinyConfigs } from './testing.js';

before(async () => {
  await testBackend();
});

/** Mean squared logits against a fixed random target: a loss every parameter influences. */
function lossOf(model: RecurrentModel, x: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.mean(tf.square(tf.sub(model.forward(x), target))) as tf.Scalar;
}

describe('every model', () => {
  const T = 6;
  const B = 4;
  for (const { label, config } of tinyConfigs()) {
    it(`${label}: shapes, gradients reach every trainable variable, no leaks`, async () => {
      const model = createModel(config, TINY_IO, 3);
      const x = randomInputs(T, B, TINY_IO.inputSize);
      const target = tf.randomNormal([T, B, TINY_IO.outputSize], 0, 1, 'float32', 5);
      const groups = model.trainableVariables();
      const vars = [...groups.orthogonal, ...groups.other, ...groups.managed.map((m) => m.variable)];
      assert.ok(vars.length >= 5, `${label}: only ${vars.length} variables`);
      if (config.type !== 'lstm' && config.type !== 'fastrnn' && config.type !== 'fastgrnn') {
        assert.ok(groups.orthogonal.length + groups.managed.length >= 1, `${label}: no orthogonal group`);
      }
      await expectNoLeaks(() => {
        const y = model.forward(x);
        assert.deepEqual(y.shape, [T, B, TINY_IO.outputSize]);
        y.dispose();
        const { value, grads } = tf.variableGrads(() => lossOf(model, x, target), vars);
        for (const v of vars) {
          const g = grads[v.name];
          assert.ok(g, `${label}: no gradient for ${v.name}`);
          const norm = tf.tidy(() => tf.norm(g).dataSync()[0]);
          assert.ok(Number.isFinite(norm) && norm > 0, `${label}: gradient of ${v.name} has norm ${norm}`);
        }
        tf.dispose([value, ...Object.values(grads)]);
        model.afterStep?.();
      }, `${label} forward/backward`);
      // Weights round-trip and the state is returned.
      const w = model.getWeights();
      const other = createModel(config, TINY_IO, 99);
      other.setWeights(w);
      const [a, b] = [model.forward(x), other.forward(x)];
      expectArraysClose(a, b, 1e-6, 1e-6, `${label} after setWeights`);
      const { logits, state } = model.forwardWithState(x);
      assert.equal(state[0].shape[0], B);
      tf.dispose([a, b, logits, ...state, x, target]);
      other.dispose();
      model.dispose();
    });
  }
});

describe('ORNN / QORNN / HadamRNN forward equals the per-step definition', () => {
  const cases = tinyConfigs().filter((c) => c.config.type === 'ornn' || c.config.type === 'qornn' || c.config.type === 'hadamrnn');
  for (const { label, config } of cases) {
    for (const readout of ['many-to-many', 'last'] as const) {
      it(`${label}, readout ${readout}`, () => {
        const model = createModel({ ...config, readout } as ModelConfig, TINY_IO, 11);
        const x = randomInputs(5, 3, TINY_IO.inputSize, 2);
        const y = model.forward(x);
        const c = config as { activation: string; readoutActivation: string };
        const ref = referenceRnnForward(model.effectiveWeights(), x.dataSync() as Float32Array, { T: 5, B: 3 }, { ...c, readout });
        expectArraysClose(y, ref, 1e-4, 1e-4, label);
        tf.dispose([x, y]);
        model.dispose();
      });
    }
  }
});

describe('quantization and orthogonality', () => {
  it('QORNN: W has at most 2^k levels, U/V quantized, latent W near orthogonal', () => {
    const cfg = tinyConfigs(16).find((c) => c.config.type === 'qornn')!.config;
    const model = createModel({ ...cfg, bits: 3, ioBits: 5 } as ModelConfig, TINY_IO, 4);
    const eff = model.effectiveWeights();
    assert.ok(new Set(eff.W.data).size <= 8, `W levels ${new Set(eff.W.data).size}`);
    assert.ok(new Set(eff.U.data).size <= 32);
    assert.deepEqual(model.quantization().W, { bits: 3, kind: 'uniform' });
    const d = model.diagnostics();
    // 3-bit W is not orthogonal, but not garbage either.
    assert.ok(d.orthogonalityError! > 1e-3 && d.orthogonalityError! < 0.6, `orth error ${d.orthogonalityError}`);
    model.dispose();
  });

  it('HadamRNN: exactly orthogonal, signs of u; Block-HadamRNN has 1 − m/n zeros', () => {
    const full = createModel({ type: 'hadamrnn', hidden: 16, activation: 'linear', bits: 4, readoutActivation: 'relu' }, TINY_IO, 1);
    const d = full.diagnostics();
    assert.ok(d.orthogonalityError! < 1e-6);
    assert.equal(d.zeroFraction, 0);
    assert.equal(d.signs!.length, 16);
    assert.ok([...d.signs!].every((s) => s === 1 || s === -1));
    const block = createModel({ type: 'hadamrnn', hidden: 16, blockSize: 4, activation: 'linear', bits: 4, readoutActivation: 'relu' }, TINY_IO, 1);
    assert.equal(block.diagnostics().zeroFraction, 0.75);
    full.dispose();
    block.dispose();
  });

  it('bad hidden / block sizes are clear errors naming the key', () => {
    assert.throws(() => createModel({ type: 'hadamrnn', hidden: 22, activation: 'linear', bits: 4, readoutActivation: 'relu' }, TINY_IO, 1), /model\.hidden: expected a Hadamard order p·2\^k with a Hadamard matrix of order p .*got 22/);
    assert.throws(() => createModel({ type: 'hadamrnn', hidden: 16, blockSize: 3, activation: 'linear', bits: 4, readoutActivation: 'relu' }, TINY_IO, 1), /model\.blockSize: expected a Hadamard order dividing model\.hidden = 16/);
    assert.throws(() => createModel({ type: 'hadamrnn', hidden: 96, blockSize: 64, activation: 'linear', bits: 4, readoutActivation: 'relu' }, TINY_IO, 1), /model\.blockSize: expected a Hadamard order dividing model\.hidden = 96 .*got 64/);
    assert.throws(() => createModel({ type: 'lstm', hidden: 4, bits: null }, { ...TINY_IO, vocabSize: 10 }, 1), /model\.embeddingDim: the task has token inputs/);
  });
});

describe('HadamRNN with Hadamard orders p·2^k (H_p ⊗ H_{2^k}, Kronecker scan)', () => {
  for (const [label, extra] of [
    ['n=24 = 12·2, linear', { hidden: 24, activation: 'linear' }],
    ['n=48, blocks m=24, relu', { hidden: 48, blockSize: 24, activation: 'relu' }],
    ['n=12 (Paley, q = 1), tanh', { hidden: 12, activation: 'tanh' }],
  ] as const) {
    it(`${label}: forward equals the per-step definition with the dense W; W exactly orthogonal`, () => {
      for (const readout of ['many-to-many', 'last'] as const) {
        const config = { type: 'hadamrnn', bits: 4, readoutActivation: 'relu', readout, ...extra } as ModelConfig;
        const model = createModel(config, TINY_IO, 5) as HadamRnn;
        const x = randomInputs(5, 3, TINY_IO.inputSize, 2);
        const y = model.forward(x);
        const ref = referenceRnnForward(model.effectiveWeights(), x.dataSync() as Float32Array, { T: 5, B: 3 }, { activation: extra.activation, readoutActivation: 'relu', readout });
        expectArraysClose(y, ref, 1e-4, 1e-4, label);
        const d = model.diagnostics();
        assert.ok(d.orthogonalityError! < 1e-6, `orthogonality error ${d.orthogonalityError}`);
        assert.equal(d.zeroFraction, 1 - (('blockSize' in extra ? extra.blockSize : extra.hidden) / extra.hidden));
        tf.dispose([x, y]);
        model.dispose();
      }
    });
  }
});

describe('size accounting', () => {
  const io = { inputSize: 10, outputSize: 9, readout: 'many-to-many' as const };
  it('HadamRNN n=128 (copy task): W = 128 bits, U/V at 4 bits + one float scale each', () => {
    const m = createModel({ type: 'hadamrnn', hidden: 128, activation: 'linear', bits: 4, readoutActivation: 'relu' }, io, 0);
    const s = m.sizeBits();
    assert.equal(s.recurrentBits, 128);
    const by = Object.fromEntries(s.entries.map((e) => [e.name, e.bits]));
    assert.deepEqual(by, { U: 10 * 128 * 4 + 32, b: 128 * 32, u: 128, V: 128 * 9 * 4 + 32, c: 9 * 32 });
    assert.equal(s.totalBits, 5152 + 4096 + 128 + 4640 + 288);
    assert.equal(s.totalBytes, Math.ceil(s.totalBits / 8));
    m.dispose();
  });

  it('QORNN n=64 at 4 bits: W = 4·n² + 32; float ORNN: 32 per value', () => {
    const q = createModel({ type: 'qornn', hidden: 64, activation: 'linear', strategy: 'ste-bjorck', bits: 4, init: 'auto', readoutActivation: 'relu' }, io, 0);
    assert.equal(q.sizeBits().recurrentBits, 4 * 64 * 64 + 32);
    const f = createModel({ type: 'ornn', hidden: 64, activation: 'linear', orthogonal: 'expMap', init: 'auto', readoutActivation: 'relu' }, io, 0);
    const s = f.sizeBits();
    assert.equal(s.recurrentBits, 32 * 64 * 64);
    assert.equal(s.totalBits, 32 * s.parameterCount);
    tf.dispose([]);
    q.dispose();
    f.dispose();
  });

  it('LSTM with a token embedding: 4-bit matrices, float embedding and biases', () => {
    const m = createModel({ type: 'lstm', hidden: 8, embeddingDim: 6, bits: 4 }, { inputSize: 1, outputSize: 1, vocabSize: 20, readout: 'last' }, 0);
    const by = Object.fromEntries(m.sizeBits().entries.map((e) => [e.name, e.bits]));
    assert.deepEqual(by, { embedding: 20 * 6 * 32, Wx: 6 * 32 * 4 + 32, b: 32 * 32, Wh: 8 * 32 * 4 + 32, V: 8 * 4 + 32, c: 32 });
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
    const y = m.forward(x);
    assert.deepEqual(y.shape, [2, 1]);
    tf.dispose([x, y]);
    m.dispose();
  });
});

describe('post-training quantization', () => {
  it('ORNN → frozen copy with k-bit W/U/V whose forward matches the per-step definition', () => {
    const model = createModel(tinyConfigs().find((c) => c.label.startsWith('ornn expMap'))!.config, TINY_IO, 2);
    const q = quantizeWeightsPostTraining(model, { bits: 4, ioBits: 6 });
    const eff = q.effectiveWeights();
    assert.ok(new Set(eff.W.data).size <= 16);
    assert.ok(new Set(eff.U.data).size <= 64);
    assert.equal(q.sizeBits().recurrentBits, 4 * 64 + 32);
    const x = randomInputs(4, 2, 3);
    const y = q.forward(x);
    const ref = referenceRnnForward(eff, x.dataSync() as Float32Array, { T: 4, B: 2 }, { activation: 'tanh', readoutActivation: 'linear', readout: 'many-to-many' });
    expectArraysClose(y, ref, 1e-4, 1e-4, 'ptq forward');
    // The source model is unchanged.
    const y0 = model.forward(x);
    assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(y0, y))).dataSync()[0]) > 1e-4);
    tf.dispose([x, y, y0]);
    q.dispose();
    model.dispose();
  });

  it('HadamRNN and LSTM copies quantize U/V (or every matrix) and keep the rest', () => {
    for (const cfg of tinyConfigs().filter((c) => c.label === 'block-hadamrnn m=4 float io' || c.label === 'lstm').map((c) => c.config)) {
      const model = createModel(cfg, TINY_IO, 2);
      const q = quantizeWeightsPostTraining(model, { bits: 3 });
      assert.ok(new Set(q.effectiveWeights().V.data).size <= 8);
      assert.deepEqual(q.effectiveWeights().b.data, model.effectiveWeights().b.data);
      q.dispose();
      model.dispose();
    }
  });
});

describe('state and embeddings', () => {
  for (const { label, config } of tinyConfigs().filter((c) => ['ornn expMap tanh', 'hadamrnn p=4', 'lstm', 'fastgrnn 6 bits'].includes(c.label))) {
    it(`${label}: two windows with the state carried equal one long window`, () => {
      const model = createModel(config, TINY_IO, 5);
      const x = randomInputs(8, 2, TINY_IO.inputSize, 6);
      const [x1, x2] = tf.split(x, 2, 0);
      const whole = model.forward(x);
      const first = model.forwardWithState(x1);
      const second = model.forward(x2, first.state);
      expectArraysClose(tf.concat([first.logits, second]), whole, 1e-5, 1e-4, label);
      tf.dispose([x, x1, x2, whole, first.logits, ...first.state, second]);
      model.dispose();
    });
  }

  it('the embedding gradient (host scatter-add) equals one-hot matmul, repeated ids summed', async () => {
    const model = createModel({ type: 'hadamrnn', hidden: 8, embeddingDim: 3, bits: null, activation: 'linear', readoutActivation: 'relu' }, { inputSize: 1, outputSize: 2, vocabSize: 6, readout: 'last' }, 1);
    const ids = tf.tensor2d([1, 4, 1, 0, 5, 1], [3, 2], 'int32');
    const E = model.trainableVariables().other.find((v) => v.name.endsWith('/embedding'))!;
    await expectNoLeaks(() => {
      const g = tf.grad((e: tf.Tensor) => {
        // The reference: rows as a one-hot product, differentiated by tfjs itself.
        const rows = tf.matMul(tf.oneHot(ids.reshape([6]), 6).toFloat(), e);
        return tf.sum(tf.square(rows));
      })(E);
      const mine = tf.grad((e: tf.Tensor) => tf.sum(tf.square(embeddingLookup(e as tf.Tensor2D, ids.reshape([6]) as tf.Tensor1D))))(E);
      expectArraysClose(mine, g, 1e-6, 1e-6, 'embedding gradient');
      const row2 = tf.tidy(() => mine.slice([2, 0], [1, 3]).dataSync());
      assert.deepEqual(Array.from(row2), [0, 0, 0], 'id 2 is absent: zero gradient');
      tf.dispose([g, mine]);
    }, 'embedding gradient');
    const bad = tf.tensor1d([7], 'int32');
    assert.throws(() => embeddingLookup(E as unknown as tf.Tensor2D, bad), /embedding: token id 7 at position 0 is outside \[0, 6\)/);
    bad.dispose();
    ids.dispose();
    model.dispose();
  });
});

describe('wasm-shaped projections', () => {
  for (const d of [3, 20]) {
    it(`inputProjection (d = ${d}) and affineRows: gradients equal tfjs's plain composition`, async () => {
      const N = 12;
      const x = tf.tensor2d(Array.from({ length: N * d }, (_, i) => (i % 3 === 0 ? 0 : Math.cos(i))), [N, d]);
      const U = tf.tensor2d(Array.from({ length: d * 5 }, (_, i) => Math.sin(i)), [d, 5]);
      const b = tf.tensor1d([0.1, -0.2, 0.3, 0, 1]);
      const V = tf.tensor2d(Array.from({ length: 5 * 2 }, (_, i) => Math.sin(3 * i)), [5, 2]);
      const c = tf.tensor1d([0.5, -0.5]);
      const w = tf.tensor2d(Array.from({ length: N * 2 }, (_, i) => Math.sin(7 * i)), [N, 2]);
      const mine = (xx: tf.Tensor, uu: tf.Tensor, bb: tf.Tensor, vv: tf.Tensor, cc: tf.Tensor) =>
        tf.sum(tf.mul(affineRows(tf.tanh(inputProjection(xx as tf.Tensor2D, uu as tf.Tensor2D, bb as tf.Tensor1D, { inputGrad: true, rowBlock: 4 })), vv as tf.Tensor2D, cc as tf.Tensor1D, 4), w));
      const plain = (xx: tf.Tensor, uu: tf.Tensor, bb: tf.Tensor, vv: tf.Tensor, cc: tf.Tensor) =>
        tf.sum(tf.mul(tf.add(tf.matMul(tf.tanh(tf.add(tf.matMul(xx as tf.Tensor2D, uu as tf.Tensor2D), bb)), vv as tf.Tensor2D), cc), w));
      await expectNoLeaks(() => {
        const g1 = tf.grads(mine)([x, U, b, V, c]);
        const g2 = tf.grads(plain)([x, U, b, V, c]);
        g1.forEach((g, i) => expectArraysClose(g, g2[i], 1e-5, 1e-4, `grad ${['x', 'U', 'b', 'V', 'c'][i]}`));
        tf.dispose([...g1, ...g2]);
      }, 'projection gradients');
      tf.dispose([x, U, b, V, c, w]);
    });
  }
});

describe('wasm-shaped projections on [T, B, ·] with the ReLU inside', () => {
  it('one-hot, zero and two-hot input rows; 3-D ReLU readout: gradients equal the plain composition', async () => {
    const [T, B, d, n, m] = [3, 4, 4, 5, 2];
    const xd = new Float32Array(T * B * d);
    for (let r = 0; r < T * B; r++) {
      if (r % 3 === 0) xd[r * d + (r % d)] = 1; // one-hot
      else if (r % 3 === 1) [xd[r * d], xd[r * d + 3]] = [0.5, -2]; // two non-zeros
    } // r % 3 === 2: a zero row
    const x = tf.tensor2d(xd, [T * B, d]);
    const U = tf.tensor2d(Array.from({ length: d * n }, (_, i) => Math.sin(i + 1)), [d, n]);
    const b = tf.tensor1d([0.1, -0.2, 0.3, 0, -0.4]);
    const V = tf.tensor2d(Array.from({ length: n * m }, (_, i) => Math.cos(2 * i)), [n, m]);
    const c = tf.tensor1d([0.5, -0.5]);
    const w = tf.tensor3d(Array.from({ length: T * B * m }, (_, i) => Math.sin(5 * i)), [T, B, m]);
    const mine = (uu: tf.Tensor, bb: tf.Tensor, vv: tf.Tensor, cc: tf.Tensor) => {
      const Z = inputProjection(x, uu as tf.Tensor2D, bb as tf.Tensor1D, { inputGrad: false, rowBlock: B, outShape: [T, B, n] });
      assert.deepEqual(Z.shape, [T, B, n]);
      const y = affineRows(Z, vv as tf.Tensor2D, cc as tf.Tensor1D, B, { relu: true, outShape: [T, B, m] });
      assert.deepEqual(y.shape, [T, B, m]);
      return tf.sum(tf.mul(y, w));
    };
    const plain = (uu: tf.Tensor, bb: tf.Tensor, vv: tf.Tensor, cc: tf.Tensor) =>
      tf.sum(tf.mul(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, uu as tf.Tensor2D), bb)), vv as tf.Tensor2D), cc).reshape([T, B, m]), w));
    await expectNoLeaks(() => {
      const g1 = tf.grads(mine)([U, b, V, c]);
      const g2 = tf.grads(plain)([U, b, V, c]);
      g1.forEach((g, i) => expectArraysClose(g, g2[i], 1e-5, 1e-4, `grad ${['U', 'b', 'V', 'c'][i]}`));
      tf.dispose([...g1, ...g2]);
    }, 'projection gradients');
    tf.dispose([x, U, b, V, c, w]);
  });
});

describe('fused affine rows (kernels) equal the tfjs reference path (ORTHOQUANT_FUSED_ROWS=0)', () => {
  /** Logits and every variable's gradient of a loss through the whole model, on one path. */
  function run(model: RecurrentModel, x: tf.Tensor, target: tf.Tensor, fused: boolean): { y: Float32Array; grads: Record<string, Float32Array> } {
    const prev = process.env.ORTHOQUANT_FUSED_ROWS;
    process.env.ORTHOQUANT_FUSED_ROWS = fused ? '1' : '0';
    try {
      const groups = model.trainableVariables();
      const vars = [...groups.orthogonal, ...groups.other, ...groups.managed.map((m) => m.variable)];
      const y = tf.tidy(() => model.forward(x));
      const { value, grads } = tf.variableGrads(() => lossOf(model, x, target), vars);
      const out: Record<string, Float32Array> = {};
      for (const v of vars) out[v.name] = grads[v.name].dataSync() as Float32Array;
      const yv = y.dataSync() as Float32Array;
      tf.dispose([y, value, ...Object.values(grads)]);
      return { y: yv, grads: out };
    } finally {
      if (prev === undefined) delete process.env.ORTHOQUANT_FUSED_ROWS;
      else process.env.ORTHOQUANT_FUSED_ROWS = prev;
    }
  }
  const T = 6;
  const B = 4;
  const cases = [
    ...tinyConfigs().map(({ label, config }) => ({ label, config, io: TINY_IO })),
    ...tinyConfigs()
      .filter(({ config }) => config.type === 'hadamrnn' || config.type === 'lstm')
      .map(({ label, config }) => ({ label: `${label}, tokens, last-step readout`, config: { ...config, embeddingDim: 3 }, io: { inputSize: 1, outputSize: 2, vocabSize: 6, readout: 'last' as const } })),
  ];
  for (const { label, config, io } of cases) {
    it(`${label}: logits and every gradient agree (1e-4 relative), no leaks`, async () => {
      const model = createModel(config, io, 7);
      const x = io.vocabSize ? tf.tensor2d(Array.from({ length: T * B }, (_, i) => (i * 5) % io.vocabSize!), [T, B], 'int32') : randomInputs(T, B, io.inputSize);
      const target = io.readout === 'last' ? tf.randomNormal([B, io.outputSize], 0, 1, 'float32', 9) : tf.randomNormal([T, B, io.outputSize], 0, 1, 'float32', 9);
      const ref = run(model, x, target, false);
      const got = await expectNoLeaks(() => run(model, x, target, true), `${label}: fused path`);
      const ey = relativeError(got.y, ref.y);
      assert.ok(ey <= 1e-4, `${label}: logits relative error ${ey.toExponential(2)}`);
      for (const name of Object.keys(ref.grads)) {
        const e = relativeError(got.grads[name], ref.grads[name]);
        assert.ok(e <= 1e-4, `${label}: d${name} relative error ${e.toExponential(2)}`);
      }
      tf.dispose([x, target]);
      model.dispose();
    });
  }
});

describe('LSTM: the fused scan equals the per-step reference', () => {
  const T = 7;
  const B = 3;
  const out = TINY_IO.outputSize;
  const close = (a: tf.Tensor, b: tf.Tensor, what: string) => {
    const e = relativeError(a, b);
    assert.ok(e <= 1e-4, `${what}: relative error ${e.toExponential(2)} > 1e-4`);
  };
  for (const { label, config } of tinyConfigs().filter((c) => c.config.type === 'lstm')) {
    for (const readout of ['many-to-many', 'last'] as const) {
      for (const withState of [false, true]) {
        it(`${label}, readout ${readout}${withState ? ', initial (h, c)' : ''}: logits, final (h, c), gradients; no leaks`, async () => {
          const n = config.hidden;
          const model = createModel({ ...config, readout } as ModelConfig, TINY_IO, 21);
          const x = randomInputs(T, B, TINY_IO.inputSize, 8);
          const rng = createRng(17);
          const s0 = withState ? [tf.tensor2d(rng.normalArray(B * n), [B, n]), tf.tensor2d(rng.normalArray(B * n), [B, n])] : null;
          const yShape = readout === 'last' ? [B, out] : [T, B, out];
          // Weights of a loss that reads the logits and both final states.
          const wy = tf.tensor(rng.normalArray(yShape.reduce((a, b) => a * b, 1)), yShape);
          const wh = tf.tensor2d(rng.normalArray(B * n), [B, n]);
          const wc = tf.tensor2d(rng.normalArray(B * n), [B, n]);
          const vars = model.trainableVariables().other;
          assert.deepEqual(vars.map((v) => v.name.split('/').pop()).sort(), ['V', 'Wh', 'Wx', 'b', 'c']);
          const byName = (k: string) => vars.find((v) => v.name.endsWith(`/${k}`))! as tf.Variable<tf.Rank.R2>;
          const bits = (config as { bits: number | null }).bits;
          const q = (t: tf.Tensor2D) => (bits === null ? t : quantizeSte(t, bits));
          type Run = (h0: tf.Tensor2D | null, c0: tf.Tensor2D | null) => { logits: tf.Tensor; state: tf.Tensor[] };
          const fused: Run = (h0, c0) => model.forwardWithState(x, h0 && c0 ? [h0, c0] : null);
          const reference: Run = (h0, c0) => {
            const Zx = tf.add(tf.matMul(x.reshape([T * B, TINY_IO.inputSize]), q(byName('Wx'))), byName('b')).reshape([T, B, 4 * n]) as tf.Tensor3D;
            const r = stepwiseLstm(Zx, q(byName('Wh')), h0, c0);
            const rows = readout === 'last' ? r.h : r.H.reshape([T * B, n]);
            return { logits: tf.add(tf.matMul(rows, q(byName('V'))), byName('c')).reshape(yShape), state: [r.h, r.c] };
          };
          const loss = (run: Run, h0: tf.Tensor2D | null, c0: tf.Tensor2D | null) => {
            const { logits, state } = run(h0, c0);
            return tf.addN([tf.sum(tf.mul(logits, wy)), tf.sum(tf.mul(state[0], wh)), tf.sum(tf.mul(state[1], wc))]) as tf.Scalar;
          };
          await expectNoLeaks(() => {
            tf.tidy(() => {
              const a = fused(s0?.[0] ?? null, s0?.[1] ?? null);
              const b = reference(s0?.[0] ?? null, s0?.[1] ?? null);
              assert.deepEqual(a.logits.shape, yShape);
              close(a.logits, b.logits, 'logits');
              close(a.state[0], b.state[0], 'final h');
              close(a.state[1], b.state[1], 'final c');
            });
            const ga = tf.variableGrads(() => loss(fused, s0?.[0] ?? null, s0?.[1] ?? null), vars);
            const gb = tf.variableGrads(() => loss(reference, s0?.[0] ?? null, s0?.[1] ?? null), vars);
            close(ga.value, gb.value, 'loss');
            for (const v of vars) {
              assert.ok(tf.tidy(() => tf.norm(gb.grads[v.name]).dataSync()[0]) > 0, `reference gradient of ${v.name} is zero`);
              close(ga.grads[v.name], gb.grads[v.name], `gradient of ${v.name}`);
            }
            tf.dispose([ga.value, gb.value, ...Object.values(ga.grads), ...Object.values(gb.grads)]);
            if (s0) {
              const [dh, dc] = tf.grads((h0: tf.Tensor, c0: tf.Tensor) => loss(fused, h0 as tf.Tensor2D, c0 as tf.Tensor2D))(s0);
              const [rh, rc] = tf.grads((h0: tf.Tensor, c0: tf.Tensor) => loss(reference, h0 as tf.Tensor2D, c0 as tf.Tensor2D))(s0);
              close(dh, rh, 'gradient of h0');
              close(dc, rc, 'gradient of c0');
              tf.dispose([dh, dc, rh, rc]);
            }
          }, `${label} fused vs per-step`);
          tf.dispose([x, wy, wh, wc, ...(s0 ?? [])]);
          model.dispose();
        });
      }
    }
  }
});

describe('LSTM training loss: the one-op lstmRnnLoss equals the composed path (ORTHOQUANT_FUSED_LSTM=0)', () => {
  const T = 9;
  const B = 3;
  const D = TINY_IO.inputSize;
  const O = TINY_IO.outputSize;
  for (const { label, config } of tinyConfigs().filter((c) => c.config.type === 'lstm')) {
    for (const readout of ['many-to-many', 'last'] as const) {
      for (const hot of [false, true]) {
        it(`${label}, readout ${readout}, ${hot ? 'hot-index' : 'float'} inputs: loss and every gradient agree; no leaks`, async () => {
          const model = createModel({ ...config, readout } as ModelConfig, TINY_IO, 5);
          const idx = tf.tensor2d(Array.from({ length: T * B }, (_, i) => (i * 7) % D), [T, B], 'int32');
          const x = hot ? idx : randomInputs(T, B, D, 4);
          const y = readout === 'last' ? tf.tensor1d(Array.from({ length: B }, (_, i) => i % O), 'int32') : tf.tensor2d(Array.from({ length: T * B }, (_, i) => (i * 5) % O), [T, B], 'int32');
          const vars = model.trainableVariables().other;
          /** The loss, every gradient and the kernels that ran, on one path. */
          const run = async (fused: boolean) => {
            setEnvSetting('fusedLstm', fused ? '1' : '0');
            try {
              let loss = 0;
              const grads: Record<string, Float32Array> = {};
              const info = await tf.profile(() => {
                const g = tf.variableGrads(() => model.trainingLoss!(x, y)!.loss, vars);
                loss = g.value.dataSync()[0];
                for (const v of vars) grads[v.name] = g.grads[v.name].dataSync() as Float32Array;
                tf.dispose([g.value, ...Object.values(g.grads)]);
              });
              return { loss, grads, kernels: info.kernelNames };
            } finally {
              setEnvSetting('fusedLstm', undefined);
            }
          };
          const ref = await run(false);
          const got = await expectNoLeaks(() => run(true), `${label}: lstmRnnLoss path`);
          assert.ok(got.kernels.includes('OrthoquantLstmLoss') && !ref.kernels.includes('OrthoquantLstmLoss'), `the fused path ran lstmRnnLoss: ${got.kernels.join(', ')}`);
          assert.ok(Math.abs(got.loss - ref.loss) < 1e-5 * ref.loss, `loss ${got.loss} vs ${ref.loss}`);
          for (const v of vars) {
            const e = relativeError(got.grads[v.name], ref.grads[v.name]);
            assert.ok(e <= 1e-4, `${label}: gradient of ${v.name} relative error ${e.toExponential(2)}`);
          }
          tf.dispose([idx, x, y]);
          model.dispose();
        });
      }
    }
  }
});

describe("reference-code initialisation (deel-ai-papers/hadamRnn defaults) and its options", () => {
  const io = { inputSize: 10, outputSize: 9, readout: 'many-to-many' as const };
  const valuesOf = (m: RecurrentModel, k: string) => m.getWeights()[k].data;

  it("HadamRNN u: Xavier-uniform on [1, n] by default, U(±√(6/(n+1))); uInit 'normal' draws N(0, 1)", () => {
    const n = 128;
    const a = Math.sqrt(6 / (n + 1));
    const x = createModel({ type: 'hadamrnn', hidden: n, activation: 'linear', bits: 4, readoutActivation: 'relu' }, io, 1) as HadamRnn;
    const u = x.latentU();
    assert.ok(u.every((v) => Math.abs(v) <= a), 'inside ±√(6/(n+1))');
    assert.ok(Math.max(...u.map(Math.abs)) > 0.9 * a, 'fills the range');
    const y = createModel({ type: 'hadamrnn', hidden: n, activation: 'linear', bits: 4, readoutActivation: 'relu', uInit: 'normal' }, io, 1) as HadamRnn;
    const un = y.latentU();
    assert.ok(un.filter((v) => Math.abs(v) > a).length > n / 2, 'N(0, 1) mostly outside ±0.216');
    x.dispose();
    y.dispose();
  });

  it("biases b, c: nn.Linear's U(±1/√fan_in) by default; biasInit 'zeros' keeps them zero", () => {
    const m = createModel({ type: 'hadamrnn', hidden: 64, activation: 'linear', bits: 4, readoutActivation: 'relu' }, io, 2);
    const b = valuesOf(m, 'b');
    const c = valuesOf(m, 'c');
    // b sits on the reference's recurrent layer nn.Linear(n, n): fan-in n, not the input size.
    assert.ok(b.every((v) => Math.abs(v) <= 1 / 8) && b.some((v) => Math.abs(v) > 0.5 / 8), 'b in ±1/√n');
    assert.ok(c.every((v) => Math.abs(v) <= 1 / 8) && c.some((v) => Math.abs(v) > 0.5 / 8), 'c in ±1/√n');
    m.dispose();
    for (const type of ['ornn', 'lstm'] as const) {
      const cfg = (type === 'ornn'
        ? { type, hidden: 8, activation: 'linear', orthogonal: 'expMap', init: 'auto', readoutActivation: 'relu', biasInit: 'zeros' }
        : { type, hidden: 8, bits: null, biasInit: 'zeros' }) as ModelConfig;
      const z = createModel(cfg, io, 2);
      for (const k of ['c', ...(type === 'ornn' ? ['b'] : [])]) assert.ok(valuesOf(z, k).every((v) => v === 0), `${type} ${k} zero`);
      z.dispose();
    }
  });

  it('embedding row paddingIdx (default 0) is zero and never trained; paddingIdx null learns it', async () => {
    const tok = { inputSize: 1, outputSize: 2, vocabSize: 6, readout: 'last' as const };
    const ids = tf.tensor2d([[0, 1], [2, 0], [3, 0]], [3, 2], 'int32');
    for (const paddingIdx of [0, null] as const) {
      const m = createModel({ type: 'hadamrnn', hidden: 8, activation: 'linear', bits: null, readoutActivation: 'relu', embeddingDim: 4, paddingIdx }, tok, 3);
      const E = valuesOf(m, 'embedding');
      assert.equal(E.slice(0, 4).every((v) => v === 0), paddingIdx === 0, `row 0 zero at init: ${paddingIdx}`);
      const emb = m.trainableVariables().other.find((v) => v.name.endsWith('/embedding'))!;
      const { grads, value } = tf.variableGrads(() => tf.sum(tf.square(m.forward(ids))) as tf.Scalar, [emb]);
      const g = grads[emb.name].dataSync();
      assert.equal(g.slice(0, 4).every((v) => v === 0), paddingIdx === 0, `row 0 gradient zero: ${paddingIdx}`);
      assert.ok(g.slice(4, 8).some((v) => v !== 0), 'other rows train');
      value.dispose();
      for (const t of Object.values(grads)) t.dispose();
      m.dispose();
    }
    ids.dispose();
  });

  it('a padding index outside the vocabulary is an error naming model.paddingIdx', () => {
    const tok = { inputSize: 1, outputSize: 2, vocabSize: 6, readout: 'last' as const };
    assert.throws(
      () => createModel({ type: 'hadamrnn', hidden: 8, activation: 'linear', bits: null, readoutActivation: 'relu', embeddingDim: 4, paddingIdx: 6 }, tok, 3),
      /model\.paddingIdx.*expected a token id in 0\.\.5 or null, got 6/,
    );
  });
});

describe('HadamRNN against a dense implementation of the reference model', () => {
  // The reference's cell written densely with tfjs ops: W = diag(sign u)·H/√n with an identity
  // STE for sign, U and V through the 4-bit quantizer (α = max|w|, STE), h_t = W h_{t−1} + x_t U + b,
  // ŷ = ReLU(h) V + c, mean softmax cross-entropy. Every gradient of our fused path must match it.
  it('loss gradients of u, U, b, V, c match (last-step and every-step readouts)', () => {
    const n = 16;
    const T = 12;
    const B = 3;
    const D = 4;
    const O = 5;
    for (const readout of ['last', 'many-to-many'] as const) {
      const m = createModel({ type: 'hadamrnn', hidden: n, activation: 'linear', bits: 4, readoutActivation: 'relu' }, { inputSize: D, outputSize: O, readout }, 7) as HadamRnn;
      const x = tf.randomUniform([T, B, D], 0, 1, 'float32', 3);
      const y = readout === 'last' ? tf.tensor1d([1, 3, 0], 'int32') : tf.randomUniform([T, B], 0, O, 'int32', 4);
      const vars = m.trainableVariables();
      const all = [...vars.orthogonal, ...vars.other];
      const byName = (k: string) => all.find((v) => v.name.endsWith(`/${k}`))!;
      const ce = (logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(tf.oneHot(y.flatten(), O), logits.reshape([-1, O])) as tf.Scalar;
      const signs = Float32Array.from(m.signs());
      const Hn = tf.tensor2d(Array.from(m.denseW(), (w, i) => w * signs[Math.floor(i / n)]), [n, n]);
      const ste = (f: (t: tf.Tensor) => tf.Tensor) =>
        tf.customGrad(((t: tf.Tensor) => ({ value: f(t), gradFunc: (dy: tf.Tensor) => [dy] })) as never) as unknown as (t: tf.Tensor) => tf.Tensor;
      const q4 = ste((w) => tf.tidy(() => {
        const s = w.abs().max().div(8);
        return w.div(s).round().clipByValue(-8, 7).mul(s);
      }));
      const sign = ste((v) => tf.sign(v).add(tf.equal(v, 0).toFloat()));
      const dense = () => {
        const W = Hn.mul(sign(byName('u')).reshape([n, 1]));
        const U = q4(byName('U'));
        const V = q4(byName('V'));
        let h: tf.Tensor = tf.zeros([B, n]);
        const outs: tf.Tensor[] = [];
        for (let t = 0; t < T; t++) {
          h = tf.matMul(h, W, false, true).add(tf.matMul(x.slice([t, 0, 0], [1, B, D]).reshape([B, D]), U)).add(byName('b'));
          if (readout !== 'last') outs.push(tf.relu(h).matMul(V).add(byName('c')));
        }
        return ce(readout === 'last' ? tf.relu(h).matMul(V).add(byName('c')) : tf.stack(outs));
      };
      const ref = tf.variableGrads(dense, all);
      const ours = tf.variableGrads(() => ce(m.forward(x)), all);
      // The fused training loss (one op, hadamardRnnLoss) applies to both readouts.
      const fused = tf.variableGrads(() => m.trainingLoss!(x, y)!.loss, all);
      for (const v of all) {
        const r = ref.grads[v.name];
        expectArraysClose(ours.grads[v.name], r, 1e-4);
        expectArraysClose(fused.grads[v.name], r, 1e-4);
      }
      assert.ok(Math.abs(ours.value.dataSync()[0] - ref.value.dataSync()[0]) < 1e-5);
      assert.ok(Math.abs(fused.value.dataSync()[0] - ref.value.dataSync()[0]) < 1e-5, `${readout}: fused loss`);
      tf.dispose([x, y, Hn, ref.value, ours.value, fused.value, ...Object.values(ref.grads), ...Object.values(ours.grads), ...Object.values(fused.grads)]);
      m.dispose();
    }
  });
});
