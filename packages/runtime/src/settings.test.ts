import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { childEnv, rawSetting, setEnvSetting, setting, settingsTable, SETTINGS } from './settings.js';

/** Run `fn` with the variables set as given (undefined: unset), then restore them. */
function withEnv(vars: Record<string, string | undefined>, fn: () => void): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const put = (k: string, v: string | undefined) => (v === undefined ? delete process.env[k] : (process.env[k] = v));
  try {
    for (const [k, v] of Object.entries(vars)) put(k, v);
    fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) put(k, v);
  }
}

test('a setting is its default when unset or empty, its typed value when set, an error naming the variable when wrong', () => {
  withEnv({ ORTHOQUANT_THREADS: undefined, ORTHOQUANT_KERNELS: '', ORTHOQUANT_FUSED_ROWS: undefined }, () => {
    assert.equal(setting('threads'), undefined);
    assert.equal(setting('kernels'), 'auto');
    assert.equal(setting('fusedRows'), true);
  });
  withEnv({ ORTHOQUANT_THREADS: '3', ORTHOQUANT_KERNELS: ' JS ', ORTHOQUANT_FUSED_ROWS: '0' }, () => {
    assert.equal(setting('threads'), 3);
    assert.equal(setting('kernels'), 'js');
    assert.equal(setting('fusedRows'), false);
  });
  withEnv({ ORTHOQUANT_THREADS: '0', ORTHOQUANT_KERNELS: 'gpu', ORTHOQUANT_FUSED_ROWS: 'yes', ORTHOQUANT_BACKEND: 'tpu' }, () => {
    assert.throws(() => setting('threads'), /ORTHOQUANT_THREADS: expected a positive integer, got '0'/);
    assert.throws(() => setting('kernels'), /ORTHOQUANT_KERNELS: expected one of auto\|native\|js, got 'gpu'/);
    assert.throws(() => setting('fusedRows'), /ORTHOQUANT_FUSED_ROWS: expected 0 or 1, got 'yes'/);
    assert.throws(() => setting('backend'), /ORTHOQUANT_BACKEND: expected one of auto\|gpu\|node\|wasm\|cpu, got 'tpu'/);
  });
});

test('a changed variable is seen on the next read; setEnvSetting reaches children through childEnv', () => {
  withEnv({ ORTHOQUANT_LOG_LEVEL: 'warn' }, () => {
    assert.equal(setting('logLevel'), 'warn');
    setEnvSetting('logLevel', 'error');
    assert.equal(setting('logLevel'), 'error');
    assert.equal(rawSetting('logLevel'), 'error');
    assert.equal(childEnv().ORTHOQUANT_LOG_LEVEL, 'error');
    assert.equal(childEnv({ ORTHOQUANT_LOG_LEVEL: 'info' }).ORTHOQUANT_LOG_LEVEL, 'info');
    setEnvSetting('logLevel', undefined);
    assert.equal(setting('logLevel'), 'info');
  });
});

test('every variable is named once, and the README lists them all (its table is settingsTable())', () => {
  const names = Object.values(SETTINGS).map((d) => d.env);
  assert.equal(new Set(names).size, names.length);
  const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
  assert.ok(readme.includes(settingsTable()), 'README.md: the table of settings differs from settingsTable() (packages/runtime/src/settings.ts); paste it again');
});
