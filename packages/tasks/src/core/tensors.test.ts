import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '@orthoquant/runtime';
import { expectNoLeaks, testBackend } from '@orthoquant/runtime/testing';
import { CopyTask, batchToTensors } from '../index.js';
import { classIdTensor } from './tensors.js';

describe('classIdTensor and batchToTensors', () => {
  before(async () => {
    await testBackend();
  });

  for (const backend of ['wasm', 'cpu']) {
    it(`uploads Uint8Array and Int32Array class ids as the same int32 tensor (${backend})`, async () => {
      const previous = tf.getBackend();
      await initBackend(backend);
      try {
        assert.equal(tf.getBackend(), backend);
        const values = [0, 9, 3, 255, 1, 0];
        await expectNoLeaks(() => {
          const a = classIdTensor(Uint8Array.from(values), [3, 2]);
          const b = classIdTensor(Int32Array.from(values), [3, 2]);
          for (const t of [a, b]) {
            assert.equal(t.dtype, 'int32');
            assert.deepEqual(t.shape, [3, 2]);
            assert.deepEqual(Array.from(t.dataSync()), values);
          }
          tf.dispose([a, b]);
        }, 'classIdTensor');
      } finally {
        await initBackend(previous);
      }
    });
  }

  it('gives the copy task (one byte per id) the int32 x and y of the Int32Array batch it used to build', async () => {
    const task = new CopyTask({ name: 'copy', T: 30, K: 4, seed: 3 });
    const batch = task.batch('train', [0, 5, 2]);
    assert.ok(batch.hot instanceof Uint8Array && batch.targets instanceof Uint8Array);
    await expectNoLeaks(() => {
      const { x, y } = batchToTensors(batch, task.inputDim, { hotIndices: true });
      const wide = batchToTensors({ ...batch, hot: Int32Array.from(batch.hot!), targets: Int32Array.from(batch.targets) }, task.inputDim, { hotIndices: true });
      assert.deepEqual([x.dtype, y.dtype], ['int32', 'int32']);
      assert.deepEqual([x.shape, y.shape], [[30, 3], [30, 3]]);
      assert.deepEqual(Array.from(x.dataSync()), Array.from(wide.x.dataSync()));
      assert.deepEqual(Array.from(y.dataSync()), Array.from(wide.y.dataSync()));
      tf.dispose([x, y, wide.x, wide.y]);
    }, 'batchToTensors');
  });
});
