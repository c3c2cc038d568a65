/**
 * Checkpoint files: everything needed to continue a run exactly.
 *
 * Layout (little-endian): the 8 bytes `OQCKPT1\n`, a uint32 header length, the UTF-8 JSON
 * header, zero padding to a multiple of 4, then the float32 payload. The header holds
 * `meta` (config, step, epoch, data position, schedule and metric accumulators, RNG state)
 * and a table of tensors `{ name, shape, offset, length }` (offset in floats from the
 * payload start). Tensor names: `model/<weight>`, `opt/<group>/<slot>`, `extra/<name>`.
 * Files are written to a temporary name and renamed, so a crash never leaves half a file.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const MAGIC = 'OQCKPT1\n';

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
  const header = Buffer.from(JSON.stringify({ version: 1, meta: data.meta, tensors: table }), 'utf8');
  const headerEnd = 8 + 4 + header.length;
  const payloadStart = Math.ceil(headerEnd / 4) * 4;
  const buf = Buffer.alloc(payloadStart + offset * 4);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(header.length, 8);
  header.copy(buf, 12);
  const payload = new Float32Array(buf.buffer, buf.byteOffset + payloadStart, offset);
  for (const [i, t] of Object.values(data.tensors).entries()) payload.set(t.data, table[i].offset);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, buf);
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
  if (12 + hlen > buf.length) throw new Error(`checkpoint ${path}: truncated header`);
  const header = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as {
    version: number;
    meta: M;
    tensors: { name: string; shape: number[]; offset: number; length: number }[];
  };
  if (header.version !== 1) throw new Error(`checkpoint ${path}: unsupported version ${header.version}`);
  const payloadStart = Math.ceil((12 + hlen) / 4) * 4;
  const total = header.tensors.reduce((a, t) => a + t.length, 0);
  if (payloadStart + total * 4 > buf.length) throw new Error(`checkpoint ${path}: truncated payload (${buf.length} bytes, need ${payloadStart + total * 4})`);
  // Copy out of the file buffer (alignment and ownership).
  const floats = new Float32Array(buf.buffer.slice(buf.byteOffset + payloadStart, buf.byteOffset + payloadStart + total * 4));
  const tensors: Record<string, TensorRecord> = {};
  for (const t of header.tensors) tensors[t.name] = { shape: t.shape, data: floats.slice(t.offset, t.offset + t.length) };
  return { meta: header.meta, tensors };
}

export function checkpointFileName(step: number): string {
  return `step-${String(step).padStart(9, '0')}.ckpt`;
}

/** A checkpoint file, or the latest `step-*.ckpt` in a directory. */
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
  return join(pathOrDir, files[files.length - 1]);
}
