/**
 * The integer model file (`*.oqint`, format `orthoquant-integer-model`, version 1; spec in
 * FORMAT.md): a 16-byte preamble, a JSON header, an 8-byte aligned little-endian payload.
 *
 * ```
 * 0   8 bytes  magic "OQINTMDL"
 * 8   u32 LE   format version (1)
 * 12  u32 LE   header length H in bytes (UTF-8 JSON, padded with spaces to a multiple of 8)
 * 16  H bytes  header
 * 16+H         payload: every tensor at header.tensors[name].offset (from the payload start)
 * ```
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { InputError } from '@orthoquant/runtime';
import type { FixedMultiplier } from '../fixed-point/fixed-point.js';
import type { IntegerModel, QuantizedTensor } from '../model.js';

export const FORMAT_NAME = 'orthoquant-integer-model';
export const FORMAT_VERSION = 1;
export const MAGIC = 'OQINTMDL';
const PREAMBLE = 16;

export type Dtype = 'int8' | 'int16' | 'int32';
type TypedInt = Int8Array | Int16Array | Int32Array;

/** One tensor of the payload, as described in the header. */
export interface TensorEntry {
  dtype: Dtype;
  shape: number[];
  /** Byte offset from the payload start (a multiple of 8). */
  offset: number;
  byteLength: number;
  /** Quantized tensors: real = scale · (code − zeroPoint) with `bits`-bit codes. */
  bits?: number;
  scale?: number;
  zeroPoint?: number;
}

/** Free-form provenance (run id, task, calibration) stored with the model. */
export type ModelMetadata = Record<string, unknown>;

export interface IntegerModelFile {
  model: IntegerModel;
  metadata: ModelMetadata;
}

interface TensorSpec {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** A QuantizedTensor field (codes + bits/scale/zeroPoint). */
  quantized?: boolean;
  /** Element `index` of an array field (`cLogit.0` → cLogit[0]). */
  field: string;
  index?: number;
}

/** The tensors of each kind, with the shapes the header's dimensions imply. */
function tensorSpecs(h: Record<string, unknown>): TensorSpec[] {
  const n = h.n as number;
  const D = h.inputSize as number;
  const O = h.outputSize as number;
  const q = (field: string, shape: number[], dtype: Dtype): TensorSpec => ({ name: field, field, shape, dtype, quantized: true });
  const t = (field: string, shape: number[], dtype: Dtype, index?: number): TensorSpec => ({ name: index === undefined ? field : `${field}.${index}`, field, shape, dtype, index });
  const specs = kindSpecs(h, n, D, O, q, t);
  if (h.vocabSize !== undefined) specs.push(t('embedding', [h.vocabSize as number, D], (h.actBits as number) <= 8 ? 'int8' : 'int16'));
  return specs;
}

function kindSpecs(
  h: Record<string, unknown>,
  n: number,
  D: number,
  O: number,
  q: (field: string, shape: number[], dtype: Dtype) => TensorSpec,
  t: (field: string, shape: number[], dtype: Dtype, index?: number) => TensorSpec,
): TensorSpec[] {
  switch (h.kind) {
    case 'hadamrnn': {
      const specs = [t('signs', [n], 'int8'), q('U', [D, n], dtypeFor(h, 'U')), t('bInput', [n], 'int32'), q('V', [n, O], dtypeFor(h, 'V')), t('cLogit', [O], 'int32', 0), t('cLogit', [O], 'int32', 1)];
      // Orders p·2^k: H_p, p × p (see IntegerHadamRnn.hadamardP).
      if (h.hadamardOrder !== undefined) specs.push(t('hadamardP', [(h.hadamardOrder as number) ** 2], 'int8'));
      return specs;
    }
    case 'ornn':
      return [q('W', [n, n], dtypeFor(h, 'W')), q('U', [D, n], dtypeFor(h, 'U')), t('bInput', [n], 'int32'), q('V', [n, O], dtypeFor(h, 'V')), t('cLogit', [O], 'int32')];
    case 'lstm':
      return [
        q('Wx', [D, 4 * n], 'int8'),
        q('Wh', [n, 4 * n], 'int8'),
        t('bInput', [4 * n], 'int32'),
        t('sigmoidTable', [513], 'int16'),
        t('tanhTable', [513], 'int16'),
        q('V', [n, O], 'int8'),
        t('cLogit', [O], 'int32'),
      ];
    default:
      return [];
  }
}

/** Weight dtypes follow the bits of the codes (int8 ≤ 8 < int16 ≤ 16 < int32). */
function dtypeFor(h: Record<string, unknown>, name: string): Dtype {
  const e = (h.tensors as Record<string, TensorEntry> | undefined)?.[name];
  const bits = e?.bits ?? 8;
  return bits <= 8 ? 'int8' : bits <= 16 ? 'int16' : 'int32';
}

function dtypeOf(a: TypedInt): Dtype {
  return a instanceof Int8Array ? 'int8' : a instanceof Int16Array ? 'int16' : 'int32';
}

const BYTES: Record<Dtype, number> = { int8: 1, int16: 2, int32: 4 };
const align8 = (k: number) => Math.ceil(k / 8) * 8;

/** Serialize an integer model (with optional metadata) to bytes. */
export function encodeIntegerModel(model: IntegerModel, metadata: ModelMetadata = {}): Uint8Array {
  const header: Record<string, unknown> = { format: FORMAT_NAME, version: FORMAT_VERSION };
  const arrays: { entry: TensorEntry; data: TypedInt }[] = [];
  const tensors: Record<string, TensorEntry> = {};
  let offset = 0;
  const add = (name: string, data: TypedInt, shape: number[], extra: Partial<TensorEntry> = {}) => {
    const entry: TensorEntry = { dtype: dtypeOf(data), shape, offset, byteLength: data.byteLength, ...extra };
    tensors[name] = entry;
    arrays.push({ entry, data });
    offset = align8(offset + data.byteLength);
  };
  for (const [key, value] of Object.entries(model)) {
    if (key === 'embedding' && ArrayBuffer.isView(value)) add(key, value as TypedInt, [model.vocabSize ?? 0, model.inputSize]);
    else if (ArrayBuffer.isView(value)) add(key, value as TypedInt, [(value as TypedInt).length]);
    else if (isQuantized(value)) add(key, value.codes, value.shape, { bits: value.bits, scale: value.scale, zeroPoint: value.zeroPoint });
    else if (Array.isArray(value) && value.every((v) => ArrayBuffer.isView(v))) value.forEach((v, i) => add(`${key}.${i}`, v as TypedInt, [(v as TypedInt).length]));
    else header[key] = value;
  }
  header.tensors = tensors;
  header.payloadBytes = offset;
  header.metadata = metadata;
  const payload = new Uint8Array(offset);
  const view = new DataView(payload.buffer);
  for (const { entry, data } of arrays) writeLE(view, entry.offset, data);
  header.payloadCrc32 = crc32(payload);
  let json = JSON.stringify(header);
  const jsonBytes = new TextEncoder().encode(json);
  const H = align8(jsonBytes.length);
  json += ' '.repeat(H - jsonBytes.length);
  const out = new Uint8Array(PREAMBLE + H + offset);
  for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, FORMAT_VERSION, true);
  dv.setUint32(12, H, true);
  out.set(new TextEncoder().encode(json), PREAMBLE);
  out.set(payload, PREAMBLE + H);
  return out;
}

function isQuantized(v: unknown): v is QuantizedTensor {
  return typeof v === 'object' && v !== null && 'codes' in v && ArrayBuffer.isView((v as QuantizedTensor).codes);
}

function writeLE(view: DataView, at: number, data: TypedInt): void {
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Int8Array) view.setInt8(at + i, data[i]);
    else if (data instanceof Int16Array) view.setInt16(at + 2 * i, data[i], true);
    else view.setInt32(at + 4 * i, data[i], true);
  }
}

function readLE(view: DataView, at: number, dtype: Dtype, length: number): TypedInt {
  const out = dtype === 'int8' ? new Int8Array(length) : dtype === 'int16' ? new Int16Array(length) : new Int32Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = dtype === 'int8' ? view.getInt8(at + i) : dtype === 'int16' ? view.getInt16(at + 2 * i, true) : view.getInt32(at + 4 * i, true);
  }
  return out;
}

/** CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) of the payload bytes. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    c ^= bytes[i];
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Parse and validate a model file's bytes; `where` names the file in every error. */
export function decodeIntegerModel(bytes: Uint8Array, where = '<bytes>'): IntegerModelFile {
  const fail = (what: string): never => {
    throw new InputError(what, where);
  };
  if (bytes.length < PREAMBLE) fail(`not an integer model file: ${bytes.length} bytes, shorter than the ${PREAMBLE}-byte preamble`);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic !== MAGIC) fail(`not an integer model file: magic ${JSON.stringify(magic)}, expected "${MAGIC}"`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== FORMAT_VERSION) fail(`format version ${version} is not supported (this reader reads version ${FORMAT_VERSION})`);
  const H = dv.getUint32(12, true);
  if (PREAMBLE + H > bytes.length) fail(`truncated: the header claims ${H} bytes but only ${bytes.length - PREAMBLE} follow the preamble`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREAMBLE, PREAMBLE + H)));
  } catch (err) {
    return fail(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return fail('header: expected a JSON object');
  if (header.format !== FORMAT_NAME) fail(`header.format: expected "${FORMAT_NAME}", got ${JSON.stringify(header.format)}`);
  if (header.version !== FORMAT_VERSION) fail(`header.version: expected ${FORMAT_VERSION}, got ${JSON.stringify(header.version)}`);
  const payloadStart = PREAMBLE + H;
  const payloadBytes = header.payloadBytes;
  if (!isInt(payloadBytes) || payloadBytes < 0) fail(`header.payloadBytes: expected an integer ≥ 0, got ${JSON.stringify(payloadBytes)}`);
  if (bytes.length !== payloadStart + (payloadBytes as number)) {
    fail(`size mismatch: header + payload should be ${payloadStart + (payloadBytes as number)} bytes, the file has ${bytes.length} (truncated or trailing data)`);
  }
  const payload = bytes.subarray(payloadStart);
  if (header.payloadCrc32 !== crc32(payload)) fail(`payload checksum mismatch (CRC-32 ${crc32(payload)}, header says ${JSON.stringify(header.payloadCrc32)}): the file is corrupt`);
  checkScalars(header, fail);
  const tensors = header.tensors as Record<string, TensorEntry>;
  if (typeof tensors !== 'object' || tensors === null) fail('header.tensors: expected an object');
  const model: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(header)) {
    if (!['format', 'version', 'tensors', 'payloadBytes', 'payloadCrc32', 'metadata'].includes(k)) model[k] = v;
  }
  const pview = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  for (const spec of tensorSpecs(header)) {
    const e = tensors[spec.name];
    const key = `header.tensors.${spec.name}`;
    if (!e) fail(`${key}: missing (a ${header.kind} model stores ${spec.dtype} ${JSON.stringify(spec.shape)})`);
    if (e.dtype !== spec.dtype) fail(`${key}.dtype: expected ${spec.dtype}, got ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || e.shape.join(',') !== spec.shape.join(',')) fail(`${key}.shape: expected ${JSON.stringify(spec.shape)}, got ${JSON.stringify(e.shape)}`);
    const length = spec.shape.reduce((a, b) => a * b, 1);
    if (e.byteLength !== length * BYTES[spec.dtype]) fail(`${key}.byteLength: expected ${length * BYTES[spec.dtype]}, got ${JSON.stringify(e.byteLength)}`);
    if (!isInt(e.offset) || e.offset < 0 || e.offset % 8 !== 0) fail(`${key}.offset: expected a multiple of 8 ≥ 0, got ${JSON.stringify(e.offset)}`);
    if (e.offset + e.byteLength > (payloadBytes as number)) fail(`${key}: bytes ${e.offset}..${e.offset + e.byteLength} run past the payload (${payloadBytes} bytes)`);
    const data = readLE(pview, e.offset, spec.dtype, length);
    let value: unknown = data;
    if (spec.quantized) {
      if (!isInt(e.bits) || e.bits! < 1 || e.bits! > 32) fail(`${key}.bits: expected an integer in 1..32, got ${JSON.stringify(e.bits)}`);
      if (typeof e.scale !== 'number' || !(e.scale >= 0)) fail(`${key}.scale: expected a number ≥ 0, got ${JSON.stringify(e.scale)}`);
      if (!isInt(e.zeroPoint)) fail(`${key}.zeroPoint: expected an integer, got ${JSON.stringify(e.zeroPoint)}`);
      value = { codes: data, shape: e.shape, bits: e.bits!, scale: e.scale!, zeroPoint: e.zeroPoint! } satisfies QuantizedTensor;
    }
    if (spec.index === undefined) model[spec.field] = value;
    else ((model[spec.field] ??= []) as unknown[])[spec.index] = value;
  }
  const metadata = (header.metadata ?? {}) as ModelMetadata;
  return { model: model as unknown as IntegerModel, metadata };
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

type Check = 'posint' | 'int' | 'number' | string[] | 'int[2]' | 'number[2]' | 'multiplier' | 'multiplier[2]';

const COMMON: Record<string, Check> = {
  n: 'posint',
  inputSize: 'posint',
  outputSize: 'posint',
  readout: ['many-to-many', 'last'],
  actBits: 'posint',
  inputScale: 'number',
  inputZeroPoint: 'int',
};
const BY_KIND: Record<string, Record<string, Check>> = {
  hadamrnn: {
    activation: ['linear', 'relu'],
    readoutActivation: ['linear', 'relu'],
    blockSize: 'posint',
    stateScales: 'number[2]',
    stepShifts: 'int[2]',
    inputRescale: 'multiplier[2]',
  },
  ornn: { activation: ['linear', 'relu'], readoutActivation: ['linear', 'relu'], stateScale: 'number', inputRescale: 'multiplier', stateRescale: 'multiplier' },
  lstm: { stateScale: 'number', stateZeroPoint: 'int', cellShift: 'int', inputRescale: 'multiplier', recurrentRescale: 'multiplier', hiddenRescale: 'multiplier' },
};

function checkScalars(h: Record<string, unknown>, fail: (what: string) => never): void {
  const kinds = Object.keys(BY_KIND);
  if (!kinds.includes(h.kind as string)) fail(`header.kind: expected one of ${kinds.join(' | ')}, got ${JSON.stringify(h.kind)}`);
  const ok = (v: unknown, c: Check): boolean => {
    if (Array.isArray(c)) return c.includes(v as string);
    if (c.endsWith('[2]')) return Array.isArray(v) && v.length === 2 && v.every((x) => ok(x, c.slice(0, -3) as Check));
    if (c === 'posint') return isInt(v) && v > 0;
    if (c === 'int') return isInt(v);
    if (c === 'number') return typeof v === 'number' && Number.isFinite(v) && v >= 0;
    const m = v as FixedMultiplier;
    return typeof m === 'object' && m !== null && isInt(m.multiplier) && m.multiplier >= 0 && m.multiplier < 2 ** 31 && isInt(m.shift);
  };
  const describe = (c: Check) => (Array.isArray(c) ? `one of ${c.join(' | ')}` : c === 'multiplier' ? '{ multiplier: int32 ≥ 0, shift: int }' : c);
  if (h.vocabSize !== undefined && !ok(h.vocabSize, 'posint')) fail(`header.vocabSize: expected posint (or absent), got ${JSON.stringify(h.vocabSize)}`);
  for (const [key, c] of Object.entries({ ...COMMON, ...BY_KIND[h.kind as string] })) {
    if (!ok(h[key], c)) fail(`header.${key}: expected ${describe(c)}, got ${JSON.stringify(h[key])}`);
  }
  if (h.kind === 'hadamrnn') {
    const m = h.blockSize as number;
    const p = h.hadamardOrder;
    if (p === undefined && h.stepMultiplier === undefined) {
      if ((h.n as number) % m !== 0 || (m & (m - 1)) !== 0) fail(`header.blockSize: expected a power of two dividing n = ${h.n}, got ${m} (orders p·2^k need hadamardOrder and stepMultiplier)`);
    } else {
      if (!ok(p, 'posint') || !ok(h.stepMultiplier, 'posint') || (h.stepMultiplier as number) >= 2 ** 31 || !ok(h.multiplierShift, 'int') || (h.multiplierShift as number) < 0 || (h.multiplierShift as number) > 62) {
        fail(`header.hadamardOrder, header.stepMultiplier, header.multiplierShift: expected positive integers (stepMultiplier < 2^31, multiplierShift ≤ 62), got ${JSON.stringify(p)}, ${JSON.stringify(h.stepMultiplier)}, ${JSON.stringify(h.multiplierShift)}`);
      }
      const q = m / (p as number);
      if ((h.n as number) % m !== 0 || !Number.isInteger(q) || (q & (q - 1)) !== 0) fail(`header.blockSize: expected hadamardOrder·2^k = ${p}·2^k dividing n = ${h.n}, got ${m}`);
      if (h.stepShifts && (h.stepShifts as number[])[0] !== (h.stepShifts as number[])[1]) fail(`header.stepShifts: an order p·2^k has one state grid: expected two equal shifts, got ${JSON.stringify(h.stepShifts)}`);
    }
  }
}

/** Write an integer model file. */
export function writeIntegerModel(path: string, model: IntegerModel, metadata: ModelMetadata = {}): void {
  writeFileSync(path, encodeIntegerModel(model, metadata));
}

/** Read and validate an integer model file (errors name the file and what is wrong). */
export function readIntegerModel(path: string): IntegerModelFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new InputError(`cannot read the integer model file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, path);
  }
  return decodeIntegerModel(bytes, path);
}
