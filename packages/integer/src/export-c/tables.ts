/**
 * Constant tables of the generated C: weight matrices stored row by row in the order the C
 * loops read them (one row = one dot product), k-bit codes bit-packed when k < 8, and the
 * accumulator width each dot product needs (int32 when its worst case fits, else int64).
 */

/** How a matrix's codes are stored in flash. */
export type Storage = 'packed' | 'int8_t' | 'int16_t' | 'int32_t';

/** A weight matrix as the C code reads it: `rows` dot products of `cols` codes each. */
export interface CMatrix {
  /** C identifier of the table. */
  symbol: string;
  rows: number;
  cols: number;
  /** Row-major codes, `rows × cols`. */
  codes: ArrayLike<number>;
  storage: Storage;
  /** Packed: bits per code and the code of raw value 0 (codes are `offset + raw`). */
  width: number;
  offset: number;
  /** Bytes of one row (packed rows start on a byte). */
  rowBytes: number;
  /** Bytes of the whole table in flash. */
  bytes: number;
}

/** The rows of `codes` ([R, C] row-major) as [C, R]: the C loops read columns as rows. */
export function transpose(codes: ArrayLike<number>, R: number, C: number): Int32Array {
  const out = new Int32Array(R * C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[c * R + r] = codes[r * C + c];
  return out;
}

/**
 * Choose the storage of a matrix: the codes span [min, max]; k = bits of that span. k < 8:
 * packed at k bits per code (LSB first, each row padded to a byte); else the narrowest
 * signed C type holding every code.
 */
export function matrix(symbol: string, codes: ArrayLike<number>, rows: number, cols: number): CMatrix {
  if (codes.length !== rows * cols) throw new Error(`${symbol}: expected ${rows}·${cols} codes, got ${codes.length}`);
  let min = 0;
  let max = 0;
  for (let i = 0; i < codes.length; i++) {
    if (codes[i] < min) min = codes[i];
    if (codes[i] > max) max = codes[i];
  }
  let width = 1;
  while (2 ** width < max - min + 1) width++;
  if (width < 8) {
    const rowBytes = Math.ceil((cols * width) / 8);
    return { symbol, rows, cols, codes, storage: 'packed', width, offset: min, rowBytes, bytes: rowBytes * rows };
  }
  const storage: Storage = min >= -128 && max <= 127 ? 'int8_t' : min >= -32768 && max <= 32767 ? 'int16_t' : 'int32_t';
  const size = storage === 'int8_t' ? 1 : storage === 'int16_t' ? 2 : 4;
  return { symbol, rows, cols, codes, storage, width: size * 8, offset: 0, rowBytes: cols * size, bytes: rows * cols * size };
}

/** The packed bytes of a matrix (`storage = 'packed'`). */
export function packRows(m: CMatrix): Uint8Array {
  const out = new Uint8Array(m.bytes);
  for (let r = 0; r < m.rows; r++) {
    let bit = r * m.rowBytes * 8;
    for (let c = 0; c < m.cols; c++, bit += m.width) {
      const raw = m.codes[r * m.cols + c] - m.offset;
      for (let k = 0; k < m.width; k++) if ((raw >> k) & 1) out[(bit + k) >> 3] |= 1 << ((bit + k) & 7);
    }
  }
  return out;
}

/** Comma-separated numbers, 16 to a line. */
export function cList(values: ArrayLike<number>, indent = '  '): string {
  const lines: string[] = [];
  for (let i = 0; i < values.length; i += 16) {
    const chunk: string[] = [];
    for (let j = i; j < Math.min(i + 16, values.length); j++) chunk.push(cInt(values[j]));
    lines.push(indent + chunk.join(', '));
  }
  return lines.join(',\n');
}

/** An integer literal valid in C99 for every int32 (−2^31 has no literal of its own). */
export function cInt(v: number): string {
  return v === -2147483648 ? '(-2147483647 - 1)' : String(v);
}

/** The C definition of a matrix table. */
export function matrixTable(m: CMatrix, comment: string): string {
  if (m.storage === 'packed') {
    return `/* ${comment}: ${m.rows} rows x ${m.cols} codes, ${m.width} bits each (code = ${m.offset} + raw), ${m.rowBytes} bytes a row */\nstatic const uint8_t ${m.symbol}[${m.bytes}] = {\n${cList(packRows(m))}\n};\n`;
  }
  return `/* ${comment}: ${m.rows} rows x ${m.cols} codes */\nstatic const ${m.storage} ${m.symbol}[${m.rows}][${m.cols}] = {\n${rowsList(m)}\n};\n`;
}

function rowsList(m: CMatrix): string {
  const rows: string[] = [];
  for (let r = 0; r < m.rows; r++) rows.push(`  {\n${cList(Array.prototype.slice.call(m.codes, r * m.cols, (r + 1) * m.cols) as number[], '    ')}\n  }`);
  return rows.join(',\n');
}

/** A 1-D constant table of the narrowest type holding `values` (int32 at least when `wide`). */
export function vectorTable(symbol: string, values: ArrayLike<number>, type: 'int16_t' | 'int32_t', comment: string): { text: string; bytes: number } {
  const size = type === 'int16_t' ? 2 : 4;
  return { text: `/* ${comment} */\nstatic const ${type} ${symbol}[${values.length}] = {\n${cList(values)}\n};\n`, bytes: size * values.length };
}

/**
 * Largest |accumulator| of the dot products of a matrix: max over rows of
 * `Σ_k |w_rk| · xMax + biasMax`. A C accumulator of int32 is exact when it stays < 2^31.
 */
export function accumulatorBound(m: CMatrix, xMax: number, biasMax: number): number {
  let worst = 0;
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    for (let c = 0; c < m.cols; c++) s += Math.abs(m.codes[r * m.cols + c]);
    worst = Math.max(worst, s * xMax + biasMax);
  }
  return worst;
}

/** `int32_t` if every partial sum fits, else `int64_t` (then saturated to int32 as the engines do). */
export function accumulatorType(m: CMatrix, xMax: number, biasMax: number): 'int32_t' | 'int64_t' {
  return accumulatorBound(m, xMax, biasMax) <= 2147483647 ? 'int32_t' : 'int64_t';
}

/**
 * C statements running `stmt(code, k)` for each code of row `row` of `m`, k = 0 … cols − 1 in
 * order (`code` is an int32 C expression). Packed rows are decoded LSB first: a byte at a
 * time when the width divides 8 (unrolled), else through a bit buffer.
 */
export function rowLoop(m: CMatrix, row: string, stmt: (code: string, k: string) => string, indent: string): string {
  const i = indent;
  if (m.storage !== 'packed') {
    return [`${i}{`, `${i}  const ${m.storage} *w_ = ${m.symbol}[${row}];`, `${i}  size_t k_;`, `${i}  for (k_ = 0; k_ < ${m.cols}u; k_++) ${stmt('(int32_t)w_[k_]', 'k_')}`, `${i}}`].join('\n');
  }
  const mask = `${2 ** m.width - 1}u`;
  const head = [`${i}{`, `${i}  const uint8_t *p_ = ${m.symbol} + (size_t)(${row}) * ${m.rowBytes}u;`, `${i}  size_t k_ = 0;`];
  if (8 % m.width === 0) {
    const per = 8 / m.width;
    const full = Math.floor(m.cols / per);
    const tail = m.cols - full * per;
    const code = `((int32_t)((byte_ >> (i_ * ${m.width}u)) & ${mask}) + (${cInt(m.offset)}))`;
    const lines = [...head, `${i}  size_t b_;`, `${i}  unsigned i_;`];
    if (full > 0) lines.push(`${i}  for (b_ = 0; b_ < ${full}u; b_++) {`, `${i}    const uint32_t byte_ = p_[b_];`, `${i}    for (i_ = 0; i_ < ${per}u; i_++, k_++) ${stmt(code, 'k_')}`, `${i}  }`);
    else lines.push(`${i}  b_ = 0;`);
    if (tail > 0) lines.push(`${i}  {`, `${i}    const uint32_t byte_ = p_[b_];`, `${i}    for (i_ = 0; i_ < ${tail}u; i_++, k_++) ${stmt(code, 'k_')}`, `${i}  }`);
    lines.push(`${i}}`);
    return lines.join('\n');
  }
  return [
    ...head,
    `${i}  uint32_t bits_ = 0;`,
    `${i}  unsigned have_ = 0;`,
    `${i}  for (k_ = 0; k_ < ${m.cols}u; k_++) {`,
    `${i}    if (have_ < ${m.width}u) { bits_ |= (uint32_t)*p_++ << have_; have_ += 8u; }`,
    `${i}    ${stmt(`((int32_t)(bits_ & ${mask}) + (${cInt(m.offset)}))`, 'k_')}`,
    `${i}    bits_ >>= ${m.width}; have_ -= ${m.width}u;`,
    `${i}  }`,
    `${i}}`,
  ].join('\n');
}

/** C statements adding row `row` of `m` times `x(k)` to `acc` (an `accType` variable): a dot product. */
export function dotLoop(m: CMatrix, row: string, x: (k: string) => string, acc: string, accType: string, indent: string): string {
  return rowLoop(m, row, (code, k) => `${acc} += (${accType})${code} * (${accType})(${x(k)});`, indent);
}

/** `accumulatorType` of sums down the columns of `m` (`acc[c] = bias + Σ_r m[r][c]·x_r`). */
export function columnAccumulatorType(m: CMatrix, xMax: number, biasMax: number): 'int32_t' | 'int64_t' {
  let worst = 0;
  for (let c = 0; c < m.cols; c++) {
    let s = 0;
    for (let r = 0; r < m.rows; r++) s += Math.abs(m.codes[r * m.cols + c]);
    worst = Math.max(worst, s * xMax + biasMax);
  }
  return worst <= 2147483647 ? 'int32_t' : 'int64_t';
}

/**
 * C statements adding row `row` of `m`, times the scalar C expression `v`, to the accumulators
 * `acc(k)` (k over the columns): the sparse form of a matrix product, skipped by the caller
 * when v = 0.
 */
export function axpyLoop(m: CMatrix, row: string, v: string, acc: (k: string) => string, accType: string, indent: string): string {
  return rowLoop(m, row, (code, k) => `${acc(k)} += (${accType})${code} * (${accType})(${v});`, indent);
}
