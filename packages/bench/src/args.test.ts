import test from 'node:test';
import assert from 'node:assert/strict';
import { BenchUsageError, parseArgs } from './args.js';

const CASES = ['copy-hadamrnn', 'baseline'];

test('defaults and flags', () => {
  const a = parseArgs([], CASES, '/out');
  assert.deepEqual([a.quick, a.cases, a.reps, a.outDir, a.installPeer, a.noPeer, a.child], [false, [], null, '/out', false, false, null]);
  const b = parseArgs(['--quick', '--case', 'baseline', '--case=copy-hadamrnn', '--reps', '7', '--out-dir', '/tmp/x', '--install-peer'], CASES, '/out');
  assert.deepEqual([b.quick, b.cases, b.reps, b.outDir, b.installPeer], [true, ['baseline', 'copy-hadamrnn'], 7, '/tmp/x', true]);
});

test('bad flags get clear errors', () => {
  const err = (argv: string[], re: RegExp) => assert.throws(() => parseArgs(argv, CASES, '/out'), (e: unknown) => e instanceof BenchUsageError && re.test(e.message));
  err(['--case', 'nope'], /--case: unknown case 'nope'; expected one of copy-hadamrnn, baseline/);
  err(['--case'], /--case: expected a value/);
  err(['--reps', '0'], /--reps: expected an integer in 1\.\.1000, got '0'/);
  err(['--reps', '2.5'], /--reps: expected an integer/);
  err(['--reps', 'five'], /--reps: expected an integer/);
  err(['--out-dir', '--quick'], /--out-dir: expected a value/);
  err(['--fast'], /unknown argument '--fast'/);
  err(['--install-peer', '--no-peer'], /contradict/);
});
