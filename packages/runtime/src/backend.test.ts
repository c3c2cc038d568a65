import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend, parseBackendChoice, backendInfo } from './index.js';
import { expectArraysClose, expectNoLeaks } from './testing.js';

describe('backend selection', () => {
  it('rejects an unknown backend name with the accepted choices', () => {
    assert.throws(() => parseBackendChoice('tpu', '--backend'), /--backend: expected one of auto\|gpu\|node\|wasm\|cpu, got 'tpu'/);
    assert.equal(parseBackendChoice(undefined), 'auto');
    assert.equal(parseBackendChoice(' WASM '), 'wasm');
  });

  it('auto picks an installed backend and records why others were skipped', async () => {
    const info = await initBackend('auto');
    assert.ok(['gpu', 'node', 'wasm', 'cpu'].includes(info.choice));
    assert.equal(backendInfo(), info);
    if (info.choice === 'wasm') {
      // tfjs-node(-gpu) cannot install on our CI machine: both must be reported as skipped.
      assert.deepEqual(info.skipped.map((s) => s.choice), ['gpu', 'node']);
    }
    assert.equal(tf.getBackend(), info.tfBackend);
  });

  it('an explicit backend that is not installed is a clear error', async () => {
    let installed = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      installed = false;
    }
    if (installed) return;
    await assert.rejects(initBackend('node'), /backend 'node' is not available: .*install @tensorflow\/tfjs-node@/);
  });

  for (const name of ['wasm', 'cpu'] as const) {
    it(`matMul gradient on ${name} matches the analytic product, all transpose flags, no leaks`, async () => {
      await initBackend(name);
      const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
      const b = tf.tensor2d([0.5, -1, 2, 0, 1, 3], [3, 2]);
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const A = ta ? a.transpose() : a;
        const B = tb ? b.transpose() : b;
        await expectNoLeaks(() => {
          const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, ta, tb).square().sum())([A, B]);
          const [ra, rb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => {
            const xx = ta ? x.transpose() : x;
            const yy = tb ? y.transpose() : y;
            return tf.matMul(xx, yy).square().sum();
          })([A, B]);
          expectArraysClose(ga, ra, 1e-4, 1e-5, `dA (${ta},${tb})`);
          expectArraysClose(gb, rb, 1e-4, 1e-5, `dB (${ta},${tb})`);
          tf.dispose([ga, gb, ra, rb]);
        });
        if (ta) A.dispose();
        if (tb) B.dispose();
      }
      tf.dispose([a, b]);
    });
  }

  it('batched matMul gradient with broadcasting sums over the broadcast axis', async () => {
    await initBackend('wasm');
    const a = tf.randomNormal([4, 2, 3], 0, 1, 'float32', 1);
    const b = tf.randomNormal([3, 5], 0, 1, 'float32', 2);
    const gb = tf.grad((y: tf.Tensor) => tf.matMul(a, y).sum())(b);
    const expected = tf.matMul(a.reshape([8, 3]).transpose(), tf.ones([8, 5]));
    expectArraysClose(gb, expected, 1e-4, 1e-5, 'dB broadcast');
    tf.dispose([a, b, gb, expected]);
  });
});
