/**
 * Checkpoint files: everything needed to continue a run exactly.
 *
 * Layout (little-endian): the 8 bytes `OQCKPT1\n`, a uint32 header length, the UTF-8 JSON
 * header, zero padding to a multiple of 4, then the float32 payload. The header holds
 * `meta` (config, step, epoch, data position, schedule and metric accumulators, RNG state)
 * and a table of tensors `{ name, shape, offset, length }` (offset in floats from the
 * payload start). Tensor names: `model/<weight>`, `opt/<group>/<slot>`, `extra/<name>`.
 * Version 2 ends with an 8-byte trailer: `OQCK` and the CRC-32 of every byte before it.
 * Files are written to a temporary name, flushed to disk (fsync) and renamed, so a crash never
 * leaves half a file under a checkpoint's name; a file torn anyway (a power loss that dropped
 * the data of a renamed file, a truncated copy, a bad disk) fails its checksum: it is reported
 * as corrupt, never loaded, and a folder resolves to its newest checkpoint that is whole.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';

const MAGIC = 'OQCKPT1\n';
const TRAILER = 'OQCK';
const VERSION = 2;

export interface TensorRecord {
  shape: number[];
  data: Float32Array;
}

export interface CheckpointData<M> {
  meta: M;
  tensors: Record<string, TensorRecord>;
}

export function writeCheckpoint<M>(path: string, data: CheckpointData<M>): void {
  const table: { name: string; shape: number[]; offset: number; length: number }[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(data.tensors)) {
    table.push({ name, shape: t.shape, offset, length: t.data.length });
    offset += t.data.length;
  }
  const header = Buffer.from(JSON.stringify({ version: VERSION, meta: data.meta, tensors: table }), 'utf8');
  const headerEnd = 8 + 4 + header.length;
  const payloadStart = Math.ceil(headerEnd / 4) * 4;
  const body = payloadStart + offset * 4;
  const buf = Buffer.alloc(body + 8);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(header.length, 8);
  header.copy(buf, 12);
  const payload = new Float32Array(buf.buffer, buf.byteOffset + payloadStart, offset);
  for (const [i, t] of Object.values(data.tensors).entries()) payload.set(t.data, table[i].offset);
  buf.write(TRAILER, body, 'latin1');
  buf.writeUInt32LE(crc32(buf.subarray(0, body)), body + 4);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function readCheckpoint<M>(path: string): CheckpointData<M> {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new Error(`checkpoint ${path}: cannot read (${(err as Error).message})`);
  }
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw new Error(`checkpoint ${path}: not an orthoquant checkpoint (bad magic)`);
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.length) throw new Error(`checkpoint ${path}: torn — truncated header`);
  let header: {
    version: number;
    meta: M;
    tensors: { name: string; shape: number[]; offset: number; length: number }[];
  };
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as typeof header;
  } catch {
    throw new Error(`checkpoint ${path}: torn or corrupt — unreadable header`);
  }
  if (header.version !== 1 && header.version !== VERSION) throw new Error(`checkpoint ${path}: unsupported version ${header.version}`);
  const payloadStart = Math.ceil((12 + hlen) / 4) * 4;
  const total = header.tensors.reduce((a, t) => a + t.length, 0);
  const need = payloadStart + total * 4 + (header.version >= 2 ? 8 : 0);
  if (need > buf.length) throw new Error(`checkpoint ${path}: torn — truncated payload (${buf.length} bytes, need ${need})`);
  if (header.version >= 2) {
    const body = payloadStart + total * 4;
    if (buf.toString('latin1', body, body + 4) !== TRAILER || buf.readUInt32LE(body + 4) !== crc32(buf.subarray(0, body))) {
      throw new Error(`checkpoint ${path}: torn or corrupt — checksum mismatch`);
    }
  }
  // Copy out of the file buffer (alignment and ownership).
  const floats = new Float32Array(buf.buffer.slice(buf.byteOffset + payloadStart, buf.byteOffset + payloadStart + total * 4));
  const tensors: Record<string, TensorRecord> = {};
  for (const t of header.tensors) tensors[t.name] = { shape: t.shape, data: floats.slice(t.offset, t.offset + t.length) };
  return { meta: header.meta, tensors };
}

export function checkpointFileName(step: number): string {
  return `step-${String(step).padStart(9, '0')}.ckpt`;
}

/** Whether a checkpoint file is whole (reads it and checks its checksum); never throws. */
export function checkpointValid(path: string): boolean {
  try {
    readCheckpoint(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * A checkpoint file, or the newest whole `step-*.ckpt` in a directory (torn or corrupt ones
 * are skipped; with none whole, an error naming them).
 */
export function resolveCheckpoint(pathOrDir: string): string {
  let st;
  try {
    st = statSync(pathOrDir);
  } catch {
    throw new Error(`resume: no checkpoint at ${pathOrDir}`);
  }
  if (!st.isDirectory()) return pathOrDir;
  const files = readdirSync(pathOrDir)
    .filter((f) => /^step-\d+\.ckpt$/.test(f))
    .sort();
  if (files.length === 0) throw new Error(`resume: no step-*.ckpt file in ${pathOrDir}`);
  for (let i = files.length - 1; i >= 0; i--) if (checkpointValid(join(pathOrDir, files[i]))) return join(pathOrDir, files[i]);
  throw new Error(`resume: every checkpoint in ${pathOrDir} is torn or corrupt (${files.join(', ')})`);
}
