import assert from 'node:assert/strict';
import { createRequire, findSourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { initBackend } from './index.js';
import { pauseSourceMaps, resumeSourceMaps } from './source-maps.js';
import { requireBundle } from './tf.js';

const require = createRequire(import.meta.url);

describe('source maps while tfjs loads', () => {
  it('tests run under tsx, which turns source maps on (the case this guards)', () => {
    assert.equal(process.sourceMapsEnabled, true);
  });

  it('node keeps no source map of the tfjs bundles, and keeps ours', async () => {
    await initBackend('wasm');
    for (const pkg of ['@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-wasm']) {
      assert.equal(findSourceMap(require.resolve(pkg)), undefined, `${pkg}: its .map was read`);
    }
    assert.ok(findSourceMap(fileURLToPath(new URL('./backend.ts', import.meta.url))), 'our own frames lost their map');
    assert.equal(process.sourceMapsEnabled, true, 'not restored after loading');
  });

  it('pauses nest and restore the setting once, also when a load fails', () => {
    pauseSourceMaps();
    pauseSourceMaps();
    assert.equal(process.sourceMapsEnabled, false);
    resumeSourceMaps();
    assert.equal(process.sourceMapsEnabled, false);
    resumeSourceMaps();
    assert.equal(process.sourceMapsEnabled, true);
    assert.throws(() => resumeSourceMaps(), /without pauseSourceMaps/);
    assert.throws(() => requireBundle('@orthoquant/no-such-bundle'), /Cannot find module '@orthoquant\/no-such-bundle'/);
    assert.equal(process.sourceMapsEnabled, true);
  });
});
