/**
 * Torn checkpoints: a file cut short or damaged fails its checksum and is never loaded; a
 * folder resolves to its newest whole checkpoint. And a process SIGKILLed while writing
 * checkpoints leaves only whole files under checkpoint names.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCheckpoint, readCheckpoint, resolveCheckpoint, checkpointValid, checkpointFileName } from './checkpoint.js';

const data = (step: number, n = 1000) => ({ meta: { step }, tensors: { 'model/w': { shape: [n], data: Float32Array.from({ length: n }, (_, i) => i * step) } } });

test('a torn or corrupted checkpoint is detected, and a folder resolves to the previous whole one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oq-ckpt-'));
  try {
    for (const step of [5, 10, 15]) writeCheckpoint(join(dir, checkpointFileName(step)), data(step));
    assert.equal(resolveCheckpoint(dir), join(dir, checkpointFileName(15)));
    const last = join(dir, checkpointFileName(15));
    const size = readFileSync(last).length;
    truncateSync(last, size - 100); // the tail of the write never reached the disk
    assert.throws(() => readCheckpoint(last), /checkpoint .*step-000000015\.ckpt: torn/);
    assert.equal(checkpointValid(last), false);
    assert.equal(resolveCheckpoint(dir), join(dir, checkpointFileName(10)), 'the previous good one');
    // one flipped byte in the payload of the next one
    const mid = join(dir, checkpointFileName(10));
    const buf = readFileSync(mid);
    buf[buf.length - 50] ^= 0xff;
    writeFileSync(mid, buf);
    assert.throws(() => readCheckpoint(mid), /torn or corrupt — checksum mismatch/);
    assert.equal(resolveCheckpoint(dir), join(dir, checkpointFileName(5)));
    assert.deepEqual(readCheckpoint<{ step: number }>(resolveCheckpoint(dir)).meta, { step: 5 });
    truncateSync(join(dir, checkpointFileName(5)), 10);
    assert.throws(() => resolveCheckpoint(dir), /every checkpoint in .* is torn or corrupt/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGKILL while checkpoints are being written: every file under a checkpoint name is whole', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oq-ckpt-kill-'));
  const script = fileURLToPath(new URL('./test-fixtures/write-checkpoints.ts', import.meta.url));
  try {
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, [...process.execArgv.filter((a) => !a.startsWith('--test')), script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      // kill it at a random moment once it has started writing (2 MB files: a write takes a while)
      await new Promise<void>((res) => child.stdout!.once('data', () => res()));
      await new Promise((r) => setTimeout(r, Math.random() * 300));
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
    }
    const files = readdirSync(dir);
    const ckpts = files.filter((f) => /^step-\d+\.ckpt$/.test(f));
    assert.ok(ckpts.length >= 1, files.join(', '));
    for (const f of ckpts) assert.ok(checkpointValid(join(dir, f)), `${f} is whole`);
    const step = readCheckpoint<{ step: number }>(resolveCheckpoint(dir)).meta.step;
    assert.equal(resolveCheckpoint(dir), join(dir, checkpointFileName(step)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
