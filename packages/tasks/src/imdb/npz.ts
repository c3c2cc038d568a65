/**
 * numpy `.npz` / `.npy` reading without dependencies: enough for Keras's `imdb.npz`.
 *
 * - `.npz`: a zip archive (stored or deflated entries, zip64 extra fields honoured) of
 *   `<name>.npy` files.
 * - `.npy`: magic `\x93NUMPY`, version, a little header dict (`descr`, `fortran_order`,
 *   `shape`), then the raw data; object arrays (`|O`, e.g. Keras's lists of word ids) are a
 *   pickle, read by a small pickle machine that knows the opcodes numpy and Python 2/3 emit
 *   for arrays of lists, ints, strings and bytes — no code runs, unknown opcodes are errors.
 */
import { inflateRawSync } from 'node:zlib';

/** A parsed array: numbers for numeric dtypes, nested JS values for object arrays. */
export interface NpyArray {
  descr: string;
  shape: number[];
  fortranOrder: boolean;
  /** Numeric dtypes: the values as Float64Array (exact for integers below 2^53). */
  numbers: Float64Array | null;
  /** Object dtype: one JS value per element (Python list → array, int → number). */
  objects: unknown[] | null;
}

/** Entries of a zip archive by name (contents inflated). */
export function readZip(bytes: Uint8Array, file: string): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file}: not a zip archive (.npz): no end-of-central-directory record`);
  let count = view.getUint16(eocd + 10, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    // zip64 end-of-central-directory locator sits just before.
    const loc = eocd - 20;
    if (loc < 0 || view.getUint32(loc, true) !== 0x07064b50) throw new Error(`${file}: zip64 archive without a zip64 locator`);
    const z64 = Number(view.getBigUint64(loc + 8, true));
    count = Number(view.getBigUint64(z64 + 32, true));
    cdOffset = Number(view.getBigUint64(z64 + 48, true));
  }
  const out = new Map<string, Uint8Array>();
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > bytes.length || view.getUint32(p, true) !== 0x02014b50) throw new Error(`${file}: corrupt zip central directory at byte ${p}`);
    const method = view.getUint16(p + 10, true);
    let compSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let localOffset = view.getUint32(p + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // zip64 extra field (id 1): the 0xffffffff fields, in order size, compSize, offset.
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (id === 1) {
        let q = e + 4;
        if (size === 0xffffffff) (size = Number(view.getBigUint64(q, true))), (q += 8);
        if (compSize === 0xffffffff) (compSize = Number(view.getBigUint64(q, true))), (q += 8);
        if (localOffset === 0xffffffff) localOffset = Number(view.getBigUint64(q, true));
      }
      e += 4 + len;
    }
    if (view.getUint32(localOffset, true) !== 0x04034b50) throw new Error(`${file}: corrupt zip: bad local header for '${name}'`);
    const dataStart = localOffset + 30 + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true);
    const raw = bytes.subarray(dataStart, dataStart + compSize);
    if (raw.length !== compSize) throw new Error(`${file}: truncated zip entry '${name}': ${raw.length} of ${compSize} bytes`);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) {
      try {
        data = inflateRawSync(raw);
      } catch (err) {
        throw new Error(`${file}: zip entry '${name}' does not inflate (${err instanceof Error ? err.message : String(err)})`);
      }
    } else throw new Error(`${file}: zip entry '${name}' uses compression method ${method}, expected 0 (stored) or 8 (deflate)`);
    if (data.length !== size) throw new Error(`${file}: zip entry '${name}' is ${data.length} bytes, expected ${size}`);
    out.set(name, data);
    p = eEnd + commentLen;
  }
  return out;
}

/** Parse one `.npy` file. */
export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((m, i) => bytes[i] !== m)) throw new Error(`${file}: not a .npy array (expected the magic \\x93NUMPY)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = new TextDecoder('latin1').decode(bytes.subarray(major === 1 ? 10 : 12, start));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error(`${file}: unreadable .npy header ${JSON.stringify(header.trim())}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const size = shape.reduce((a, b) => a * b, 1);
  const body = bytes.subarray(start);
  if (descr === '|O') {
    const value = unpickle(body, file);
    const objects = ndarrayElements(value, file);
    if (objects.length !== size) throw new Error(`${file}: object array holds ${objects.length} elements, expected ${size} (shape [${shape.join(', ')}])`);
    return { descr, shape, fortranOrder: fortran === 'True', numbers: null, objects };
  }
  const m = /^([<>|=])([iubf])(\d+)$/.exec(descr);
  if (!m) throw new Error(`${file}: dtype '${descr}' is not supported (expected integer, unsigned, bool, float or object)`);
  const little = m[1] !== '>';
  const kind = m[2];
  const width = Number(m[3]);
  if (body.length < size * width) throw new Error(`${file}: truncated .npy data: ${body.length} bytes, expected ${size * width} for shape [${shape.join(', ')}] of '${descr}'`);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const numbers = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const o = i * width;
    let v: number;
    if (kind === 'f') v = width === 4 ? dv.getFloat32(o, little) : width === 8 ? dv.getFloat64(o, little) : NaN;
    else if (width === 1) v = kind === 'i' ? dv.getInt8(o) : dv.getUint8(o);
    else if (width === 2) v = kind === 'i' ? dv.getInt16(o, little) : dv.getUint16(o, little);
    else if (width === 4) v = kind === 'i' ? dv.getInt32(o, little) : dv.getUint32(o, little);
    else if (width === 8) v = Number(kind === 'i' ? dv.getBigInt64(o, little) : dv.getBigUint64(o, little));
    else v = NaN;
    if (Number.isNaN(v) && kind !== 'f') throw new Error(`${file}: dtype '${descr}' is not supported`);
    numbers[i] = v;
  }
  return { descr, shape, fortranOrder: fortran === 'True', numbers, objects: null };
}

/** All arrays of an `.npz` archive, by name without `.npy`. */
export function readNpz(bytes: Uint8Array, file: string): Map<string, NpyArray> {
  const out = new Map<string, NpyArray>();
  for (const [name, data] of readZip(bytes, file)) {
    if (name.endsWith('.npy')) out.set(name.slice(0, -4), parseNpy(data, `${file}:${name}`));
  }
  return out;
}

// ---- a data-only pickle machine --------------------------------------------------------

interface PyGlobal {
  py: 'global';
  name: string;
}
interface PyCall {
  py: 'call';
  fn: string;
  args: unknown[];
  state?: unknown;
}
const MARK = Symbol('mark');

function isCall(v: unknown): v is PyCall {
  return typeof v === 'object' && v !== null && (v as PyCall).py === 'call';
}

/** Elements of a pickled numpy ndarray (`_reconstruct` + BUILD state `(ver, shape, dtype, fortran, data)`). */
function ndarrayElements(v: unknown, file: string): unknown[] {
  if (!isCall(v) || !/(^|\.)_reconstruct$/.test(v.fn) || !Array.isArray(v.state)) throw new Error(`${file}: the pickle is not a numpy array`);
  const data = v.state[4];
  if (!Array.isArray(data)) throw new Error(`${file}: pickled numpy array without an object list`);
  return data;
}

export function unpickle(bytes: Uint8Array, file: string): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder();
  let p = 0;
  const need = (n: number) => {
    if (p + n > bytes.length) throw new Error(`${file}: truncated pickle at byte ${p}`);
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0) throw new Error(`${file}: truncated pickle at byte ${p}`);
    const s = latin1.decode(bytes.subarray(p, end));
    p = end + 1;
    return s;
  };
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw new Error(`${file}: corrupt pickle: no MARK`);
    const items = stack.splice(i);
    items.shift();
    return items;
  };
  const top = () => stack[stack.length - 1];
  const str = (n: number, dec: TextDecoder) => {
    need(n);
    const s = dec.decode(bytes.subarray(p, p + n));
    p += n;
    return s;
  };
  const raw = (n: number) => {
    need(n);
    const b = bytes.slice(p, p + n);
    p += n;
    return b;
  };
  const longLE = (n: number): number => {
    need(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[p + i]);
    if (n > 0 && bytes[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    p += n;
    return Number(v);
  };
  for (;;) {
    need(1);
    const op = bytes[p++];
    switch (op) {
      case 0x80: p += 1; break; // PROTO
      case 0x95: p += 8; break; // FRAME
      case 0x2e: return stack.pop(); // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x74: case 0x6c: stack.push(popMark()); break; // TUPLE, LIST
      case 0x85: stack.push(stack.splice(-1)); break; // TUPLE1
      case 0x86: stack.push(stack.splice(-2)); break; // TUPLE2
      case 0x87: stack.push(stack.splice(-3)); break; // TUPLE3
      case 0x61: { const v = stack.pop(); (top() as unknown[]).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); (top() as unknown[]).push(...items); break; } // APPENDS
      case 0x73: { const v = stack.pop(); const k = stack.pop(); (top() as Map<unknown, unknown>).set(k, v); break; } // SETITEM
      case 0x75: { const items = popMark(); const d = top() as Map<unknown, unknown>; for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]); break; } // SETITEMS
      case 0x4b: need(1); stack.push(bytes[p]); p += 1; break; // BININT1
      case 0x4d: need(2); stack.push(view.getUint16(p, true)); p += 2; break; // BININT2
      case 0x4a: need(4); stack.push(view.getInt32(p, true)); p += 4; break; // BININT
      case 0x8a: { need(1); const n = bytes[p++]; stack.push(longLE(n)); break; } // LONG1
      case 0x8b: { need(4); const n = view.getInt32(p, true); p += 4; stack.push(longLE(n)); break; } // LONG4
      case 0x49: { const s = line(); stack.push(s === '01' ? true : s === '00' ? false : Number(s)); break; } // INT
      case 0x4c: stack.push(Number(line().replace(/L$/, ''))); break; // LONG
      case 0x47: need(8); stack.push(view.getFloat64(p, false)); p += 8; break; // BINFLOAT
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x55: { need(1); const n = bytes[p++]; stack.push(str(n, latin1)); break; } // SHORT_BINSTRING
      case 0x54: { need(4); const n = view.getUint32(p, true); p += 4; stack.push(str(n, latin1)); break; } // BINSTRING
      case 0x8c: { need(1); const n = bytes[p++]; stack.push(str(n, utf8)); break; } // SHORT_BINUNICODE
      case 0x58: { need(4); const n = view.getUint32(p, true); p += 4; stack.push(str(n, utf8)); break; } // BINUNICODE
      case 0x8d: { need(8); const n = Number(view.getBigUint64(p, true)); p += 8; stack.push(str(n, utf8)); break; } // BINUNICODE8
      case 0x43: { need(1); const n = bytes[p++]; stack.push(raw(n)); break; } // SHORT_BINBYTES
      case 0x42: { need(4); const n = view.getUint32(p, true); p += 4; stack.push(raw(n)); break; } // BINBYTES
      case 0x8e: { need(8); const n = Number(view.getBigUint64(p, true)); p += 8; stack.push(raw(n)); break; } // BINBYTES8
      case 0x71: need(1); memo.set(bytes[p++], top()); break; // BINPUT
      case 0x72: need(4); memo.set(view.getUint32(p, true), top()); p += 4; break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x70: memo.set(Number(line()), top()); break; // PUT
      case 0x68: need(1); stack.push(memo.get(bytes[p++])); break; // BINGET
      case 0x6a: need(4); stack.push(memo.get(view.getUint32(p, true))); p += 4; break; // LONG_BINGET
      case 0x67: stack.push(memo.get(Number(line()))); break; // GET
      case 0x30: stack.pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x63: { const mod = line(); const name = line(); stack.push({ py: 'global', name: `${mod}.${name}` } satisfies PyGlobal); break; } // GLOBAL
      case 0x93: { const name = stack.pop(); const mod = stack.pop(); stack.push({ py: 'global', name: `${String(mod)}.${String(name)}` } satisfies PyGlobal); break; } // STACK_GLOBAL
      case 0x52: case 0x81: { // REDUCE, NEWOBJ
        const args = stack.pop() as unknown[];
        const fn = stack.pop() as PyGlobal;
        stack.push({ py: 'call', fn: fn?.name ?? '?', args } satisfies PyCall);
        break;
      }
      case 0x62: { const state = stack.pop(); const obj = top(); if (isCall(obj)) obj.state = state; break; } // BUILD
      default:
        throw new Error(`${file}: pickle opcode 0x${op.toString(16)} at byte ${p - 1} is not supported (expected a numpy object array of lists of ints)`);
    }
  }
}
