/**
 * The one rule every executor (local worker, queue worker, Slurm task) turns a trainer's events
 * by: metric points on the step axis, artifacts after the points before them, log lines, pace.
 * That each executor records what it makes of them is the executor contract's (contract.ts).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '@orthoquant/runtime';
import type { ArtifactInput, MetricPoint } from '@orthoquant/store';
import { paceReporter, trialEventHandler } from './trial-events.js';

function recorder() {
  const seen: (['points', MetricPoint[]] | ['step', number, Record<string, number>] | ['artifact', ArtifactInput] | ['log', string, string])[] = [];
  const log = Object.fromEntries(['trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((level) => [level, (msg: string) => void seen.push(['log', level, msg])])) as unknown as Logger;
  const h = trialEventHandler(
    {
      points: (p) => void seen.push(['points', p]),
      step: (step, metrics) => void seen.push(['step', step, metrics]),
      artifact: (a) => void seen.push(['artifact', a]),
    },
    log,
  );
  return { h, seen };
}

test('trainer events: step metrics at their step, epoch metrics (and the epoch) at the last step, artifacts in order, log lines at their level', () => {
  const { h, seen } = recorder();
  assert.equal(h.lastStep, null);
  h.onEvent({ type: 'step', step: 0, metrics: { loss: 2, acc: 0.5 } });
  h.onEvent({ type: 'step', step: 1, metrics: { loss: 1 } });
  h.onEvent({ type: 'checkpoint', path: '/ck/1', step: 1 });
  h.onEvent({ type: 'epoch', epoch: 1, metrics: { val_loss: 0.5, steps: 2 } });
  h.onEvent({ type: 'artifact', kind: 'model', path: '/m.oqint' });
  h.onEvent({ type: 'log', level: 'warn', msg: 'careful' });
  assert.equal(h.lastStep, 1);
  assert.deepEqual(seen, [
    ['points', [{ key: 'loss', step: 0, value: 2 }, { key: 'acc', step: 0, value: 0.5 }]],
    ['step', 0, { loss: 2, acc: 0.5 }],
    ['points', [{ key: 'loss', step: 1, value: 1 }]],
    ['step', 1, { loss: 1 }],
    ['artifact', { kind: 'checkpoint', path: '/ck/1', step: 1 }],
    ['points', [{ key: 'val_loss', step: 1, value: 0.5 }, { key: 'steps', step: 1, value: 2 }, { key: 'epoch', step: 1, value: 1 }]],
    ['artifact', { kind: 'model', path: '/m.oqint', step: null }],
    ['log', 'warn', 'careful'],
  ]);
});

test('trainer events: a step replayed after a resume does not move the step axis back; an epoch before any step sits at its `steps`, else at its number', () => {
  const { h, seen } = recorder();
  // resumed at an epoch's end: the trainer reports that epoch before its first step
  h.onEvent({ type: 'epoch', epoch: 3, metrics: { val_loss: 0.25, steps: 30 } });
  h.onEvent({ type: 'step', step: 31, metrics: { loss: 0.1 } });
  h.onEvent({ type: 'step', step: 30, metrics: { loss: 0.2 } });
  h.onEvent({ type: 'epoch', epoch: 4, metrics: { val_loss: 0.2 } });
  assert.equal(h.lastStep, 31);
  const epochs = seen.filter((s) => s[0] === 'points' && s[1].some((p) => p.key === 'epoch')).map((s) => (s[1] as MetricPoint[]).map((p) => p.step));
  assert.deepEqual(epochs, [[30, 30, 30], [31, 31]]);
  const bare = recorder();
  bare.h.onEvent({ type: 'epoch', epoch: 2, metrics: { val_loss: 1 } });
  assert.deepEqual(bare.seen, [['points', [{ key: 'val_loss', step: 2, value: 1 }, { key: 'epoch', step: 2, value: 2 }]]]);
});

test('trainer progress: the start has no pace yet; a pace that is not a positive finite number is unknown', () => {
  const paces: unknown[] = [];
  const p = paceReporter((x) => void paces.push(x));
  p.start!({ totalSteps: 100, startStep: 40 });
  p.update({ step: 41, totalSteps: 100, stepsPerSecond: 12.5 });
  p.update({ step: 42, totalSteps: 100, stepsPerSecond: Infinity });
  p.update({ step: 43, totalSteps: 100, stepsPerSecond: 0 });
  p.update({ step: 44, totalSteps: 100, stepsPerSecond: NaN });
  assert.deepEqual(paces, [
    { step: 40, totalSteps: 100, stepsPerSecond: null },
    { step: 41, totalSteps: 100, stepsPerSecond: 12.5 },
    { step: 42, totalSteps: 100, stepsPerSecond: null },
    { step: 43, totalSteps: 100, stepsPerSecond: null },
    { step: 44, totalSteps: 100, stepsPerSecond: null },
  ]);
});
