/**
 * The IDX format of (Fashion-)MNIST: big-endian header, then unsigned bytes.
 *
 * - Magic: two zero bytes, a type byte (0x08 = unsigned byte) and the number of dimensions:
 *   2051 (0x00000803) for images [n, rows, cols], 2049 (0x00000801) for labels [n].
 * - Then one uint32 per dimension, then prod(dims) bytes, and nothing more.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readMaybeGzipped } from '../core/data-files.js';

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

export interface IdxArray {
  magic: number;
  dims: number[];
  /** The values (a view into the file's bytes). */
  data: Uint8Array;
}

/** The header of an IDX file of `total` bytes whose first bytes are `head`; the checks of `parseIdx`. */
function parseIdxHeader(head: Uint8Array, total: number, file: string, expectMagic?: number): { magic: number; dims: number[]; header: number } {
  if (total < 4) throw new Error(`${file}: truncated IDX file: ${total} bytes, expected at least a 4-byte header`);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const magic = view.getUint32(0, false);
  if (head[0] !== 0 || head[1] !== 0) throw new Error(`${file}: not an IDX file: magic number ${magic} (0x${magic.toString(16).padStart(8, '0')}), expected ${expectMagic ?? '0x000008nn'}`);
  if (expectMagic !== undefined && magic !== expectMagic) {
    throw new Error(`${file}: IDX magic number ${magic}, expected ${expectMagic} (${expectMagic === IDX_IMAGES_MAGIC ? 'images' : 'labels'})`);
  }
  const type = head[2];
  if (type !== 0x08) throw new Error(`${file}: IDX data type 0x${type.toString(16)}, expected 0x08 (unsigned byte)`);
  const rank = head[3];
  const header = 4 + 4 * rank;
  if (rank === 0 || total < header) throw new Error(`${file}: truncated IDX header: ${rank} dimension(s) need ${header} bytes, file has ${total}`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (total !== header + size) {
    const what = total < header + size ? 'truncated' : 'trailing bytes in';
    throw new Error(`${file}: ${what} IDX file: dims [${dims.join(', ')}] need ${header + size} bytes, file has ${total}`);
  }
  return { magic, dims, header };
}

/** Parse IDX bytes; `file` names the source in errors; `expectMagic` checks the kind. */
export function parseIdx(bytes: Uint8Array, file: string, expectMagic?: number): IdxArray {
  const { magic, dims, header } = parseIdxHeader(bytes, bytes.length, file, expectMagic);
  // A plain Uint8Array view (not a Buffer), whatever the caller passed.
  return { magic, dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + header, bytes.length - header) };
}

/** Read and parse an IDX file (`.gz` is gunzipped). */
export function readIdxFile(file: string, expectMagic?: number): IdxArray {
  return parseIdx(readMaybeGzipped(file), file, expectMagic);
}

/**
 * The rows of an IDX array [count, ...] (row i: `rowBytes` bytes, e.g. one 28×28 image), read
 * from the file on demand when it is not compressed — positional reads, the page cache shared
 * by every process — instead of held in memory (MNIST's training images are 47 MB per trial
 * process). A `.gz` file is gunzipped into memory once (it cannot be read at an offset).
 */
export class IdxRows {
  readonly count: number;
  readonly rowBytes: number;
  /** Size of the (uncompressed) IDX data and its sha256, for the task's provenance record. */
  readonly bytes: number;
  readonly sha256: string;

  private constructor(
    readonly file: string,
    readonly dims: number[],
    private readonly fd: number | null,
    private readonly offset: number,
    private readonly data: Uint8Array | null,
    bytes: number,
    sha256: string,
  ) {
    this.count = dims[0];
    this.rowBytes = dims.slice(1).reduce((a, b) => a * b, 1);
    this.bytes = bytes;
    this.sha256 = sha256;
  }

  /** Open `file` (checked as `parseIdx` checks it); `.gz` is gunzipped into memory. */
  static open(file: string, expectMagic?: number): IdxRows {
    if (file.endsWith('.gz')) {
      const raw = readMaybeGzipped(file);
      const idx = parseIdx(raw, file, expectMagic);
      return new IdxRows(file, idx.dims, null, 0, idx.data, raw.length, createHash('sha256').update(raw).digest('hex'));
    }
    const fd = openSync(file, 'r');
    try {
      const total = fstatSync(fd).size;
      const head = new Uint8Array(Math.min(total, 4 + 4 * 255));
      readSync(fd, head, 0, head.length, 0);
      const { dims, header } = parseIdxHeader(head, total, file, expectMagic);
      // The hash of the whole file, streamed (the same digest as hashing its bytes at once).
      const hash = createHash('sha256');
      const chunk = new Uint8Array(1 << 20);
      for (let pos = 0; pos < total; ) {
        const got = readSync(fd, chunk, 0, Math.min(chunk.length, total - pos), pos);
        if (got <= 0) throw new Error(`${file}: read ${pos} of ${total} bytes (the file shrank while it was read)`);
        hash.update(chunk.subarray(0, got));
        pos += got;
      }
      return new IdxRows(file, dims, fd, header, null, total, hash.digest('hex'));
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Row i into `out` (its first `rowBytes` bytes); returns `out`. */
  read(i: number, out: Uint8Array): Uint8Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new Error(`${this.file}: row ${i} is outside [0, ${this.count})`);
    if (this.data) {
      out.set(this.data.subarray(i * this.rowBytes, (i + 1) * this.rowBytes));
      return out;
    }
    const got = readSync(this.fd!, out, 0, this.rowBytes, this.offset + i * this.rowBytes);
    if (got !== this.rowBytes) throw new Error(`${this.file}: row ${i}: read ${got} of ${this.rowBytes} bytes (the file changed after it was opened?)`);
    return out;
  }

  /** Every row, [count·rowBytes] (a copy for files read on demand). */
  all(): Uint8Array {
    if (this.data) return this.data;
    const out = new Uint8Array(this.count * this.rowBytes);
    const got = readSync(this.fd!, out, 0, out.length, this.offset);
    if (got !== out.length) throw new Error(`${this.file}: read ${got} of ${out.length} bytes (the file changed after it was opened?)`);
    return out;
  }
}
