import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomHadamRnn, randomInputs, randomLstm, randomOrnn } from '../testing.js';
import { calibrate } from '../ptq/calibrate.js';
import { exportInteger } from '../ptq/export.js';
import { runInteger } from '../engines/run.js';
import type { FloatModel, IntegerModel } from '../model.js';
import { decodeIntegerModel, encodeIntegerModel, readIntegerModel, writeIntegerModel, MAGIC } from './file.js';

function integer(float: FloatModel, actBits = 8, weightBits?: number): IntegerModel {
  const x = randomInputs(6, 2, float.inputSize);
  return exportInteger(float, calibrate(float, [{ inputs: x, T: 6, B: 2 }]), { actBits, weightBits });
}

/** Re-assemble a file from a (modified) header object and the original payload. */
function withHeader(bytes: Uint8Array, edit: (h: Record<string, unknown>) => void): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const H = dv.getUint32(12, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + H)));
  edit(header);
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const jb = new TextEncoder().encode(json);
  const out = new Uint8Array(16 + jb.length + bytes.length - 16 - H);
  out.set(bytes.subarray(0, 16));
  new DataView(out.buffer).setUint32(12, jb.length, true);
  out.set(jb, 16);
  out.set(bytes.subarray(16 + H), 16 + jb.length);
  return out;
}

test('file format: every kind round-trips and runs identically', () => {
  const models: IntegerModel[] = [
    integer(randomHadamRnn({ n: 16, blockSize: 8 }), 12, 4),
    integer(randomOrnn({ n: 8, readout: 'last' }), 16, 12),
    integer(randomLstm({ n: 8 })),
  ];
  for (const model of models) {
    const bytes = encodeIntegerModel(model, { runId: 'r1', task: 'copy' });
    assert.equal(String.fromCharCode(...bytes.subarray(0, 8)), MAGIC);
    assert.equal(bytes.length % 8, 0);
    const { model: back, metadata } = decodeIntegerModel(bytes);
    assert.deepEqual(back, model, `${model.kind}: decoded model`);
    assert.deepEqual(metadata, { runId: 'r1', task: 'copy' });
    const x = randomInputs(5, 2, model.inputSize, 'rt');
    assert.deepEqual(runInteger(back, x, 5, 2).logits, runInteger(model, x, 5, 2).logits);
  }
});

test('file format: corrupt files are clear errors naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oqint-'));
  try {
    const model = integer(randomHadamRnn({ n: 8 }));
    const path = join(dir, 'copy.oqint');
    writeIntegerModel(path, model);
    assert.equal(readIntegerModel(path).model.kind, 'hadamrnn');
    const good = encodeIntegerModel(model);
    const cases: [string, Uint8Array, RegExp][] = [
      ['magic', Uint8Array.from(good, (b, i) => (i === 0 ? 0x58 : b)), /bad\.oqint: not an integer model file: magic "XQINTMDL", expected "OQINTMDL"/],
      ['short', good.subarray(0, 10), /bad\.oqint: not an integer model file: 10 bytes, shorter than the 16-byte preamble/],
      ['truncated', good.subarray(0, good.length - 3), /bad\.oqint: size mismatch: header \+ payload should be \d+ bytes, the file has \d+ \(truncated or trailing data\)/],
      ['crc', Uint8Array.from(good, (b, i) => (i === good.length - 1 ? b ^ 1 : b)), /bad\.oqint: payload checksum mismatch .* the file is corrupt/],
      ['kind', withHeader(good, (h) => (h.kind = 'gru')), /bad\.oqint: header\.kind: expected one of hadamrnn \| ornn \| lstm, got "gru"/],
      ['scalar', withHeader(good, (h) => (h.stepShifts = [2, 'x'])), /bad\.oqint: header\.stepShifts: expected int\[2\], got \[2,"x"\]/],
      ['shape', withHeader(good, (h) => ((h.tensors as Record<string, { shape: number[] }>).U.shape = [8, 3])), /bad\.oqint: header\.tensors\.U\.shape: expected \[3,8\], got \[8,3\]/],
      ['missing', withHeader(good, (h) => delete (h.tensors as Record<string, unknown>)['cLogit.1']), /bad\.oqint: header\.tensors\.cLogit\.1: missing \(a hadamrnn model stores int32 \[4\]\)/],
      ['offset', withHeader(good, (h) => ((h.tensors as Record<string, { offset: number }>).V.offset = 4)), /header\.tensors\.V\.offset: expected a multiple of 8 ≥ 0, got 4/],
    ];
    const future = new Uint8Array(good);
    new DataView(future.buffer).setUint32(8, 2, true);
    cases.push(['version', future, /bad\.oqint: format version 2 is not supported \(this reader reads version 1\)/]);
    for (const [label, bytes, message] of cases) {
      const bad = join(dir, 'bad.oqint');
      writeFileSync(bad, bytes);
      assert.throws(() => readIntegerModel(bad), (err: Error) => err.name === 'InputError' && message.test(err.message), label);
    }
    assert.throws(() => readIntegerModel(join(dir, 'none.oqint')), /none\.oqint: cannot read the integer model file \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
