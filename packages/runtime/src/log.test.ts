import test from 'node:test';
import assert from 'node:assert/strict';
import { formatLogLine, envLogFormat } from './log.js';

test('a log record as a sentence: time, level word for warnings and errors, the first line of err', () => {
  const time = new Date(2026, 0, 2, 3, 4, 5).getTime();
  assert.equal(formatLogLine({ level: 30, time, msg: 'sweep created: 2 trials', trialId: 3 }), '03:04:05 sweep created: 2 trials');
  assert.equal(formatLogLine({ level: 40, time, msg: 're-queued an interrupted trial' }), '03:04:05 warning: re-queued an interrupted trial');
  assert.equal(formatLogLine({ level: 50, time, msg: 'trial 3 failed: seed=0', err: 'Error: diverged\n    at x (y.ts:1:1)' }), '03:04:05 error: trial 3 failed: seed=0: Error: diverged');
  assert.equal(formatLogLine({ level: 50, time, msg: 'trial failed: boom', err: { message: 'boom' } }), '03:04:05 error: trial failed: boom', 'no repetition');
});

test('ORTHOQUANT_LOG_FORMAT is checked', () => {
  const old = process.env.ORTHOQUANT_LOG_FORMAT;
  try {
    process.env.ORTHOQUANT_LOG_FORMAT = 'json';
    assert.equal(envLogFormat(), 'json');
    process.env.ORTHOQUANT_LOG_FORMAT = 'yaml';
    assert.throws(() => envLogFormat(), /ORTHOQUANT_LOG_FORMAT: expected one of pretty, text, json, got 'yaml'/);
  } finally {
    if (old === undefined) delete process.env.ORTHOQUANT_LOG_FORMAT;
    else process.env.ORTHOQUANT_LOG_FORMAT = old;
  }
});
