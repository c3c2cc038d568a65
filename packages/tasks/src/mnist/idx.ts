/**
 * The IDX format of (Fashion-)MNIST: big-endian header, then unsigned bytes.
 *
 * - Magic: two zero bytes, a type byte (0x08 = unsigned byte) and the number of dimensions:
 *   2051 (0x00000803) for images [n, rows, cols], 2049 (0x00000801) for labels [n].
 * - Then one uint32 per dimension, then prod(dims) bytes, and nothing more.
 */
import { readMaybeGzipped } from '../core/data-files.js';

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

export interface IdxArray {
  magic: number;
  dims: number[];
  /** The values (a view into the file's bytes). */
  data: Uint8Array;
}

/** Parse IDX bytes; `file` names the source in errors; `expectMagic` checks the kind. */
export function parseIdx(bytes: Uint8Array, file: string, expectMagic?: number): IdxArray {
  if (bytes.length < 4) throw new Error(`${file}: truncated IDX file: ${bytes.length} bytes, expected at least a 4-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new Error(`${file}: not an IDX file: magic number ${magic} (0x${magic.toString(16).padStart(8, '0')}), expected ${expectMagic ?? '0x000008nn'}`);
  if (expectMagic !== undefined && magic !== expectMagic) {
    throw new Error(`${file}: IDX magic number ${magic}, expected ${expectMagic} (${expectMagic === IDX_IMAGES_MAGIC ? 'images' : 'labels'})`);
  }
  const type = bytes[2];
  if (type !== 0x08) throw new Error(`${file}: IDX data type 0x${type.toString(16)}, expected 0x08 (unsigned byte)`);
  const rank = bytes[3];
  const header = 4 + 4 * rank;
  if (rank === 0 || bytes.length < header) throw new Error(`${file}: truncated IDX header: ${rank} dimension(s) need ${header} bytes, file has ${bytes.length}`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + size) {
    const what = bytes.length < header + size ? 'truncated' : 'trailing bytes in';
    throw new Error(`${file}: ${what} IDX file: dims [${dims.join(', ')}] need ${header + size} bytes, file has ${bytes.length}`);
  }
  // A plain Uint8Array view (not a Buffer), whatever the caller passed.
  return { magic, dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + header, size) };
}

/** Read and parse an IDX file (`.gz` is gunzipped). */
export function readIdxFile(file: string, expectMagic?: number): IdxArray {
  return parseIdx(readMaybeGzipped(file), file, expectMagic);
}
