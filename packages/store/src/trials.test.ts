import test from 'node:test';
import assert from 'node:assert/strict';
import {
  registerSweep,
  claimTrial,
  recordMetrics,
  finishTrial,
  failTrial,
  releaseTrial,
  heartbeat,
  requeueStale,
  abandonTrial,
  recordArtifact,
  latestCheckpoint,
  recordProvenance,
  requeueFailed,
  sweepTrialHashes,
  trialStatus,
  metricDirection,
  getTrial,
  sweepStatus,
  pidAlive,
  type TrialInput,
} from './index.js';
import { tempStore, trialInput } from './testing.js';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

function grid(n: number, extra: Record<string, unknown> = {}): TrialInput[] {
  return Array.from({ length: n }, (_, i) => trialInput({ lr: 0.1 * (i + 1), ...extra }));
}

test('registerSweep: trials in order; the same config in two sweeps is one trial linked to both', () => {
  const t = tempStore();
  try {
    const a = registerSweep(t.store, { name: 'a', spec: 'spec a', fingerprint: 'fa', trials: grid(3) });
    assert.equal(a.created, true);
    assert.equal(a.inserted, 3);
    const b = registerSweep(t.store, { name: 'b', spec: 'spec b', fingerprint: 'fb', trials: [grid(3)[1], trialInput({ lr: 9 })] });
    assert.equal(b.inserted, 1);
    assert.equal(b.reused, 1);
    assert.deepEqual(sweepTrialHashes(t.store, b.sweep.id), [grid(3)[1].hash, trialInput({ lr: 9 }).hash]);
    const shared = getTrial(t.store, grid(3)[1].hash.slice(0, 10));
    assert.deepEqual(shared.sweeps, ['a', 'b']);
    assert.equal(shared.originSweep, 'a');
    assert.equal((t.store.sqlite.prepare('SELECT count(*) AS n FROM trials').get() as { n: number }).n, 4);
  } finally {
    t.cleanup();
  }
});

test('registerSweep again: unchanged set is idempotent; dropped members are retired, never-run ones deleted', () => {
  const t = tempStore();
  try {
    const first = registerSweep(t.store, { name: 's', spec: 'v1', fingerprint: 'f1', trials: grid(3) });
    const again = registerSweep(t.store, { name: 's', spec: 'v1', fingerprint: 'f1', trials: grid(3) });
    assert.deepEqual([again.created, again.inserted, again.reused, again.retired], [false, 0, 3, 0]);
    // finish trial 0, then redefine the sweep without trials 0 and 1
    const c = claimTrial(t.store, { sweepId: first.sweep.id, workerId: 'w' })!;
    assert.ok(finishTrial(t.store, c, { acc: 1 }));
    const redef = registerSweep(t.store, { name: 's', spec: 'v2', fingerprint: 'f2', trials: [grid(3)[2]] });
    assert.equal(redef.retired, 2);
    const st = sweepStatus(t.store, 's');
    assert.deepEqual([st.total, st.pending, st.done, st.retired], [1, 1, 0, 1]);
    // the done trial and its summary are still there; the never-run one is gone
    assert.equal(getTrial(t.store, c.trialId).summary.acc.final, 1);
    assert.throws(() => getTrial(t.store, grid(3)[1].hash.slice(0, 12)), /no trial/);
  } finally {
    t.cleanup();
  }
});

test('claimTrial: expansion order, one claim per trial, null when empty; attempts count claims', () => {
  const t = tempStore();
  try {
    const { sweep } = registerSweep(t.store, { name: 's', spec: '', fingerprint: 'f', trials: grid(3) });
    const got = [1, 2, 3].map(() => claimTrial(t.store, { sweepId: sweep.id, workerId: 'w1', pid: 123, host: 'h' })!);
    assert.deepEqual(
      got.map((g) => g.config.lr),
      [0.1, 0.2, 0.30000000000000004],
    );
    assert.equal(claimTrial(t.store, { sweepId: sweep.id, workerId: 'w2' }), null);
    assert.ok(got.every((g) => g.attempt === 1));
    assert.ok(releaseTrial(t.store, got[0]));
    const again = claimTrial(t.store, { sweepId: sweep.id, workerId: 'w2' })!;
    assert.equal(again.trialId, got[0].trialId);
    assert.equal(again.attempt, 2);
  } finally {
    t.cleanup();
  }
});

test('a lost lease writes nothing: a re-queued trial finished by its new owner ignores the old one', () => {
  const t = tempStore();
  try {
    const { sweep } = registerSweep(t.store, { name: 's', spec: '', fingerprint: 'f', trials: grid(1) });
    const old = claimTrial(t.store, { sweepId: sweep.id, workerId: 'old', pid: 1, host: 'elsewhere' })!;
    assert.ok(recordMetrics(t.store, old, [{ key: 'loss', step: 1, value: 5 }]));
    // heartbeat goes stale → re-queued → claimed by a new worker
    const requeued = requeueStale(t.store, { staleAfterMs: 1000, now: Date.now() + 5000 });
    assert.equal(requeued.length, 1);
    assert.match(requeued[0].reason, /no heartbeat for \d+ s/);
    const fresh = claimTrial(t.store, { sweepId: sweep.id, workerId: 'new' })!;
    assert.equal(fresh.attempt, 2);
    assert.equal(recordMetrics(t.store, old, [{ key: 'loss', step: 2, value: 99 }]), false);
    assert.equal(heartbeat(t.store, old), false);
    assert.equal(finishTrial(t.store, old, { acc: 0 }), false);
    assert.equal(failTrial(t.store, old, 'boom'), false);
    assert.equal(releaseTrial(t.store, old), false);
    assert.equal(recordArtifact(t.store, old, { kind: 'checkpoint', path: '/x' }), false);
    assert.ok(recordMetrics(t.store, fresh, [{ key: 'loss', step: 1, value: 4 }, { key: 'loss', step: 2, value: 3 }]));
    assert.ok(finishTrial(t.store, fresh, { acc: 0.5 }));
    const d = getTrial(t.store, fresh.trialId);
    assert.equal(d.status, 'done');
    assert.deepEqual(d.summary.loss, { final: 3, best: 3, bestStep: 2, n: 2 });
    assert.equal(d.summary.acc.final, 0.5);
  } finally {
    t.cleanup();
  }
});

test('recordMetrics: replayed steps overwrite, never duplicate; NaN stored as null; bad points named', () => {
  const t = tempStore();
  try {
    const { sweep } = registerSweep(t.store, { name: 's', spec: '', fingerprint: 'f', trials: grid(1) });
    const c = claimTrial(t.store, { sweepId: sweep.id, workerId: 'w' })!;
    const pts = Array.from({ length: 1000 }, (_, i) => ({ key: i % 2 ? 'acc' : 'loss', step: Math.floor(i / 2), value: i }));
    assert.ok(recordMetrics(t.store, c, pts));
    assert.ok(recordMetrics(t.store, c, pts.slice(400))); // replay after a resume from a checkpoint
    assert.ok(recordMetrics(t.store, c, [{ key: 'loss', step: 999, value: NaN }]));
    const n = (t.store.sqlite.prepare('SELECT count(*) AS n FROM metrics WHERE trial_id = ?').get(c.trialId) as { n: number }).n;
    assert.equal(n, 1001);
    const nan = t.store.sqlite.prepare(`SELECT value FROM metrics WHERE key = 'loss' AND step = 999`).get() as { value: number | null };
    assert.equal(nan.value, null);
    assert.throws(() => recordMetrics(t.store, c, [{ key: 'loss', step: 1.5, value: 1 }]), /trial \d+: metric 'loss': step must be an integer, got 1.5/);
    assert.throws(() => recordMetrics(t.store, c, [{ key: '', step: 1, value: 1 }]), /metric key must be a non-empty string/);
  } finally {
    t.cleanup();
  }
});

test('summary: best follows the metric direction, final is the last step or the trainer summary', () => {
  assert.equal(metricDirection('train_loss'), 'min');
  assert.equal(metricDirection('test_error'), 'min');
  assert.equal(metricDirection('val_bpc'), 'min');
  assert.equal(metricDirection('test_acc'), 'max');
  const t = tempStore();
  try {
    const { sweep } = registerSweep(t.store, { name: 's', spec: '', fingerprint: 'f', trials: grid(1) });
    const c = claimTrial(t.store, { sweepId: sweep.id, workerId: 'w' })!;
    recordMetrics(t.store, c, [
      { key: 'loss', step: 0, value: 3 },
      { key: 'loss', step: 10, value: 1 },
      { key: 'loss', step: 20, value: 2 },
      { key: 'acc', step: 0, value: 0.2 },
      { key: 'acc', step: 10, value: 0.9 },
      { key: 'acc', step: 20, value: 0.9 },
      { key: 'acc', step: 30, value: 0.7 },
    ]);
    assert.ok(finishTrial(t.store, c, { acc: 0.85, test_acc: 0.8 }));
    const s = getTrial(t.store, c.trialId).summary;
    assert.deepEqual(s.loss, { final: 2, best: 1, bestStep: 10, n: 3 });
    assert.deepEqual(s.acc, { final: 0.85, best: 0.9, bestStep: 10, n: 4 });
    assert.deepEqual(s.test_acc, { final: 0.8, best: 0.8, bestStep: null, n: 0 });
  } finally {
    t.cleanup();
  }
});

test('failures, stale pids, abandon after max attempts, requeueFailed; artifacts and provenance', () => {
  const t = tempStore();
  try {
    const { sweep } = registerSweep(t.store, { name: 's', spec: '', fingerprint: 'f', trials: grid(3) });
    const a = claimTrial(t.store, { sweepId: sweep.id, workerId: 'w', pid: 4242, host: 'here' })!;
    const b = claimTrial(t.store, { sweepId: sweep.id, workerId: 'w', pid: 4243, host: 'here' })!;
    assert.ok(recordArtifact(t.store, a, { kind: 'checkpoint', path: '/ck/a-10', bytes: 10, step: 10 }));
    assert.ok(recordArtifact(t.store, a, { kind: 'checkpoint', path: '/ck/a-10', bytes: 12, step: 10 }));
    assert.ok(recordArtifact(t.store, a, { kind: 'checkpoint', path: '/ck/a-20', bytes: 12, step: 20 }));
    assert.deepEqual(latestCheckpoint(t.store, a.trialId, () => true), { path: '/ck/a-20', step: 20 });
    assert.deepEqual(latestCheckpoint(t.store, a.trialId, (p) => p !== '/ck/a-20'), { path: '/ck/a-10', step: 10 });
    assert.equal(latestCheckpoint(t.store, b.trialId, () => true), null);
    assert.ok(recordProvenance(t.store, a, { packageVersion: '0.1.0', gitCommit: 'abc', gitDirty: true, backend: 'wasm', kernel: 'fused' }));
    assert.ok(failTrial(t.store, a, 'Error: boom\n  at x'));
    // pid 4243 "dead" on this host: re-queued at once, heartbeat still fresh
    const re = requeueStale(t.store, { staleAfterMs: 60_000, host: 'here', isAlive: (pid) => pid !== 4243 });
    assert.deepEqual(
      re.map((r) => [r.trialId, r.reason]),
      [[b.trialId, 'worker pid 4243 on here is gone']],
    );
    const d = getTrial(t.store, a.trialId);
    assert.equal(d.status, 'failed');
    assert.match(d.error!, /boom/);
    assert.deepEqual(
      d.artifacts.map((x) => [x.kind, x.path, x.bytes]),
      [
        ['checkpoint', '/ck/a-10', 12],
        ['checkpoint', '/ck/a-20', 12],
      ],
    );
    assert.equal(d.provenance?.gitDirty, true);
    assert.equal(d.provenance?.attempt, 1);
    assert.equal(d.provenance?.nodeVersion, process.version);
    // a worker crash: first time re-queued, at the limit failed
    const b2 = claimTrial(t.store, { sweepId: sweep.id, workerId: 'w' })!;
    assert.equal(b2.trialId, b.trialId);
    assert.equal(abandonTrial(t.store, b2, 'worker exited with SIGSEGV', 2), 'failed');
    assert.match(getTrial(t.store, b.trialId).error!, /worker exited with SIGSEGV \(attempt 2 of 2\)/);
    assert.equal(requeueFailed(t.store, sweep.id), 2);
    assert.equal(trialStatus(t.store, a.trialId), 'pending');
    assert.match(getTrial(t.store, a.trialId).error!, /boom/, 'the previous error stays until the trial succeeds');
  } finally {
    t.cleanup();
  }
});

test('a trial selection (sweep run --only): claims, failure re-queues and status counts stay inside it', () => {
  const t = tempStore();
  try {
    const reg = registerSweep(t.store, { name: 's', spec: 'v1', fingerprint: 'f1', trials: grid(4) });
    const ids = (t.store.sqlite.prepare('SELECT trial_id AS id FROM sweep_trials ORDER BY position').all() as { id: number }[]).map((r) => r.id);
    const only = new Set([ids[1], ids[3]]);
    // trial 0 failed outside the selection: it stays failed
    const c0 = claimTrial(t.store, { sweepId: reg.sweep.id, workerId: 'w' })!;
    assert.equal(c0.trialId, ids[0]);
    assert.ok(failTrial(t.store, c0, 'boom'));
    const a = claimTrial(t.store, { sweepId: reg.sweep.id, trialIds: only, workerId: 'w' })!;
    assert.equal(a.trialId, ids[1]);
    assert.ok(failTrial(t.store, a, 'boom'));
    assert.equal(requeueFailed(t.store, reg.sweep.id, only), 1);
    assert.equal(trialStatus(t.store, ids[0]), 'failed');
    assert.equal(trialStatus(t.store, ids[1]), 'pending');
    const claimed = [claimTrial(t.store, { sweepId: reg.sweep.id, trialIds: only, workerId: 'w' })!, claimTrial(t.store, { sweepId: reg.sweep.id, trialIds: only, workerId: 'w' })!];
    assert.deepEqual(claimed.map((c) => c.trialId), [ids[1], ids[3]]);
    assert.equal(claimTrial(t.store, { sweepId: reg.sweep.id, trialIds: only, workerId: 'w' }), null, 'trial 2 is pending but not selected');
    const st = sweepStatus(t.store, 's', { trialIds: only });
    assert.deepEqual([st.total, st.pending, st.running, st.done, st.failed, st.excluded], [2, 0, 2, 0, 0, 2]);
    assert.deepEqual(st.runningTrials.map((r) => r.trialId), [ids[1], ids[3]]);
    const all = sweepStatus(t.store, 's');
    assert.deepEqual([all.total, all.pending, all.running, all.failed, all.excluded], [4, 1, 2, 1, 0]);
    assert.equal(sweepStatus(t.store, 's', { trialIds: new Set() }).excluded, 4);
  } finally {
    t.cleanup();
  }
});

test('pidAlive: a running process is alive; an exited one and a zombie (exited, never reaped) are not', { skip: !existsSync('/proc/self/stat') && 'needs /proc' }, async () => {
  // sh starts a child that exits once sh has become `sleep` (exec), which never reaps it: a zombie.
  // (A child exiting before the exec could be reaped by sh itself.)
  const sh = spawn('sh', ['-c', 'p=$$; (while [ "$(cat /proc/$p/comm)" != sleep ]; do sleep 0.02; done) & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const zombie = Number(await new Promise<string>((resolve) => sh.stdout.once('data', (b: Buffer) => resolve(b.toString()))));
    assert.ok(zombie > 0);
    assert.equal(pidAlive(sh.pid!), true, 'the sleeping parent is alive');
    const deadline = Date.now() + 10_000;
    while (pidAlive(zombie) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(pidAlive(zombie), false, 'the zombie is not alive');
    let signalled = true;
    try {
      process.kill(zombie, 0);
    } catch {
      signalled = false;
    }
    assert.equal(signalled, true, 'signal 0 still reaches the zombie: what pidAlive must see through');
  } finally {
    sh.kill('SIGKILL');
  }
  await new Promise((r) => sh.once('exit', r));
  assert.equal(pidAlive(sh.pid!), false, 'an exited, reaped process is not alive');
});
