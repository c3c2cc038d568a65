/**
 * An integer model (`.oqint`) as dependency-free C99: `PREFIX.h` (sizes as #defines, the state
 * struct, the streaming API, the input quantization), `PREFIX.c` (const weight tables, integer
 * arithmetic only, no heap, no global mutable state) and `demo_main.c`.
 *
 * The C reproduces the JavaScript engines (../engines) bit for bit: the same fixed-point
 * rescales, saturations and rounding; dot products accumulate exactly (int32 where the worst
 * case fits, else int64 saturated to int32 as the engines do).
 */
import { InputError } from '@orthoquant/runtime';
import type { FixedMultiplier } from '../fixed-point/fixed-point.js';
import type { IntegerHadamRnn, IntegerLstm, IntegerModel, IntegerOrnn } from '../model.js';
import { INPUT_LIMIT } from '../engines/common.js';
import { multiplierShifts } from '../engines/hadamrnn-kron.js';
import { helpersC } from './fixed-point-c.js';
import type { CHelper } from './fixed-point-c.js';
import { accumulatorType, axpyLoop, cInt, cList, columnAccumulatorType, dotLoop, matrix, matrixTable, rowLoop, transpose, vectorTable } from './tables.js';
import type { CMatrix } from './tables.js';
import { demoC } from './demo.js';

export interface GenerateOptions {
  /** C identifier prefix of every symbol and of the file names (default `oqmodel`). */
  name?: string;
  /** Where the model came from (a comment in the files). */
  source?: string;
}

/** Flash and RAM of the generated code, in bytes. */
export interface CSizes {
  /** Constant tables (weights, biases, multipliers, lookup tables). */
  weightBytes: number;
  /** `sizeof(PREFIX_state)`: the recurrent state and the step's scratch (the caller owns it). */
  stateBytes: number;
}

export interface GeneratedC {
  name: string;
  /** File name → text: `PREFIX.h`, `PREFIX.c`, `demo_main.c`. */
  files: Record<string, string>;
  sizes: CSizes;
  /** Values per step the C API takes: input codes (inputSize) or one token id. */
  inputValues: number;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Generate the C files of an integer model. Throws an InputError naming what is unsupported. */
export function generateC(model: IntegerModel, options: GenerateOptions = {}): GeneratedC {
  const name = options.name ?? 'oqmodel';
  if (!IDENT.test(name) || name.length > 40) throw new InputError(`expected a C identifier of at most 40 characters (letters, digits, _), got ${JSON.stringify(name)}`, '--name');
  // Comments stay ASCII and closed.
  const source = (options.source ?? 'an integer model').replace(/[^\x20-\x7e]/g, '?').replace(/\*\//g, '*_/');
  const g = new Generator(model, name, source);
  const body = model.kind === 'hadamrnn' ? g.hadamRnn(model) : model.kind === 'ornn' ? g.ornn(model) : g.lstm(model);
  const header = g.header(body.state, body.notes);
  const code = g.source(body.code);
  return {
    name,
    files: { [`${name}.h`]: header, [`${name}.c`]: code, 'demo_main.c': demoC(name, model) },
    sizes: { weightBytes: g.weightBytes, stateBytes: body.state.reduce((s, f) => s + 4 * f.length, 0) },
    inputValues: model.vocabSize !== undefined ? 1 : model.inputSize,
  };
}

/** An int32 member of the state struct. */
interface StateField {
  name: string;
  length: number;
  comment: string;
}

interface KindBody {
  state: StateField[];
  code: string;
  /** Header documentation specific to the kind (logit scales…). */
  notes: string[];
}

class Generator {
  readonly P: string;
  readonly tables: string[] = [];
  weightBytes = 0;
  readonly helpers = new Set<CHelper>();
  readonly qmin: number;
  readonly qmax: number;

  constructor(
    readonly model: IntegerModel,
    readonly name: string,
    readonly sourceDesc: string,
  ) {
    this.P = name.toUpperCase();
    this.qmin = model.kind === 'lstm' ? -128 : -(2 ** (model.actBits - 1));
    this.qmax = model.kind === 'lstm' ? 127 : 2 ** (model.actBits - 1) - 1;
  }

  /** Largest |x − zeroPoint| of an input code. */
  get inputMax(): number {
    const zp = this.model.inputZeroPoint;
    return Math.max(Math.abs(this.qmin - zp), Math.abs(this.qmax - zp));
  }

  addMatrix(m: CMatrix, comment: string): CMatrix {
    this.tables.push(matrixTable(m, comment));
    this.weightBytes += m.bytes;
    return m;
  }

  addVector(symbol: string, values: ArrayLike<number>, comment: string, type: 'int16_t' | 'int32_t' = 'int32_t'): string {
    const t = vectorTable(symbol, values, type, comment);
    this.tables.push(t.text);
    this.weightBytes += t.bytes;
    return symbol;
  }

  /** `(int32_t)acc` or the int32 saturation of an int64 accumulator (the engines' sat32). */
  narrow(acc: string, type: string): string {
    if (type === 'int32_t') return acc;
    this.helpers.add('sat32');
    return `oq_sat32(${acc})`;
  }

  mul(x: string, m: FixedMultiplier): string {
    this.helpers.add('mulFixed');
    return `oq_mul_fixed(${x}, ${cInt(m.multiplier)}, ${m.shift})`;
  }

  /** The embedding table and the token → codes copy (token models). */
  embedding(): { table: boolean; load: string } {
    const m = this.model;
    if (m.vocabSize === undefined || !m.embedding) return { table: false, load: '' };
    const E = this.addMatrix(matrix(`${this.name}_embedding`, m.embedding, m.vocabSize, m.inputSize), 'embedding: input codes of each token');
    return { table: true, load: `${rowLoop(E, 'token', (code, k) => `s->x[${k}] = ${code};`, '  ')}\n` };
  }

  /**
   * The common step wrapper: input checks (codes in range, token ids in the vocabulary), the
   * token → codes copy, the kind's update `update(x)`, the readout.
   */
  stepFunctions(update: string, readout: string, resetBody: string): string {
    const P = this.P;
    const n = this.name;
    const m = this.model;
    const tokens = m.vocabSize !== undefined;
    const emb = this.embedding();
    const check = tokens
      ? `  const int32_t token = input[0];\n  if (token < 0 || token >= ${P}_VOCAB) return -1;\n${emb.load}`
      : `  size_t d_;\n  for (d_ = 0; d_ < ${P}_INPUTS; d_++) if (input[d_] < ${P}_INPUT_MIN || input[d_] > ${P}_INPUT_MAX) return -1;\n`;
    const xName = tokens ? 's->x' : 'input';
    return `void ${n}_reset(${n}_state *s) {
${resetBody}}

int ${n}_step(${n}_state *s, const int32_t *input, int32_t *logits) {
${check}  ${update.replaceAll('%X%', xName)}
  if (logits != NULL) ${n}_readout(s, logits);
  return 0;
}

${readout}
int ${n}_run(${n}_state *s, const int32_t *inputs, size_t steps, int32_t *logits) {
  size_t t;
  for (t = 0; t < steps; t++) {
    int32_t *out = NULL;
    if (logits != NULL) out = ${P}_READOUT_LAST ? (t + 1 == steps ? logits : NULL) : logits + t * ${P}_OUTPUTS;
    if (${n}_step(s, inputs + t * ${P}_INPUT_VALUES, out) != 0) return -1;
  }
  return 0;
}
`;
  }

  /**
   * The readout `logits[o] = sat32(c[o] + Σ_j V[j,o] f(h_j))`, V stored [n][O]: row j is added
   * once for each unit with f(h_j) ≠ 0 (ReLU readouts skip about half).
   */
  readout(V: CMatrix, c: (o: string) => string, f: (h: string) => string, hMax: number, cMax: number): string {
    const acc = columnAccumulatorType(V, hMax, cMax);
    return `void ${this.name}_readout(const ${this.name}_state *s, int32_t *logits) {
  ${acc} acc[${this.P}_OUTPUTS];
  size_t o, j;
  for (o = 0; o < ${this.P}_OUTPUTS; o++) acc[o] = ${c('o')};
  for (j = 0; j < ${this.P}_HIDDEN; j++) {
    const int32_t v = ${f('s->h[j]')};
    if (v == 0) continue;
${axpyLoop(V, 'j', 'v', (k) => `acc[${k}]`, acc, '    ')}
  }
  for (o = 0; o < ${this.P}_OUTPUTS; o++) logits[o] = ${this.narrow('acc[o]', acc)};
}
`;
  }

  /** The input projection of unit `row`: `clamp(rescale(sat32(b + Σ_d U[d,row] (x_d − zp))), ±2^30)`. */
  projection(U: CMatrix, bias: Int32Array, biasSym: string, row: string, x: string, rescale: (v: string) => string, target: string, indent: string, limit = true): string {
    const zp = this.model.inputZeroPoint;
    const acc = accumulatorType(U, this.inputMax, maxAbs(bias));
    const xe = (k: string) => (zp === 0 ? `${x}[${k}]` : `(${x}[${k}] - (${cInt(zp)}))`);
    this.helpers.add('sat');
    const v = rescale(this.narrow('accx', acc));
    return `${indent}{
${indent}  ${acc} accx = ${biasSym}[${row}];
${dotLoop(U, row, xe, 'accx', acc, `${indent}  `)}
${indent}  ${target} = ${limit ? `oq_clamp(${v}, -${INPUT_LIMIT}, ${INPUT_LIMIT})` : v};
${indent}}`;
  }

  hadamRnn(m: IntegerHadamRnn): KindBody {
    const { n, blockSize: bs } = m;
    const P = this.P;
    const nm = this.name;
    const kron = m.hadamardP ? this.kronStage(m) : null;
    if (2 ** (m.actBits - 1) * bs >= 2 ** 30) {
      throw new InputError(`blockSize ${bs} with ${m.actBits}-bit states can overflow int32 in the Walsh–Hadamard transform (needs 2^(actBits−1)·blockSize < 2^30)`, 'model.blockSize');
    }
    for (const p of [0, 1]) {
      const s = m.stepShifts[p];
      if (!(Number.isInteger(s) && s >= 0 && s <= 31)) throw new InputError(`expected a shift in 0..31, got ${s}`, `model.stepShifts[${p}]`);
    }
    const signBytes = new Uint8Array(Math.ceil(n / 8));
    for (let k = 0; k < n; k++) {
      if (m.signs[k] !== 1 && m.signs[k] !== -1) throw new InputError(`expected ±1, got ${m.signs[k]}`, `model.signs[${k}]`);
      if (m.signs[k] < 0) signBytes[k >> 3] |= 1 << (k & 7);
    }
    this.tables.push(`/* Sign of each hidden unit, bit k = 1 for -1 (n bits packed, LSB first). */\nstatic const uint8_t ${nm}_signs[${signBytes.length}] = {\n${cList(signBytes)}\n};\n`);
    this.weightBytes += signBytes.length;
    // int32 sums (the usual case): U stored [inputSize][n] and added row by row for the inputs
    // off their zero point (one-hot symbols, blank pixels skip theirs), into the z scratch.
    const Ut = matrix(`${nm}_U`, transpose(m.U.codes, m.inputSize, n), n, m.inputSize);
    const sparse = accumulatorType(Ut, this.inputMax, maxAbs(m.bInput)) === 'int32_t';
    const U = sparse
      ? this.addMatrix(matrix(`${nm}_U`, m.U.codes, m.inputSize, n), `U (input projection, row d = input d), ${m.U.bits}-bit codes, scale ${m.U.scale}`)
      : this.addMatrix(Ut, `U^T (input projection, row j = unit j), ${m.U.bits}-bit codes, scale ${m.U.scale}`);
    this.addVector(`${nm}_bias`, m.bInput, 'input bias in the input accumulator scale');
    this.tables.push(`static const int32_t ${nm}_in_mult[2] = { ${cInt(m.inputRescale[0].multiplier)}, ${cInt(m.inputRescale[1].multiplier)} };\nstatic const int ${nm}_in_shift[2] = { ${m.inputRescale[0].shift}, ${m.inputRescale[1].shift} };\n`);
    this.weightBytes += 16;
    const V = this.addMatrix(matrix(`${nm}_V`, m.V.codes, n, m.outputSize), `V (readout, row j = unit j), ${m.V.bits}-bit codes, scale ${m.V.scale}`);
    this.tables.push(`/* output bias in the logit scale of a state on phase 0 and on phase 1 */\nstatic const int32_t ${nm}_cLogit[2][${m.outputSize}] = {\n  {\n${cList(m.cLogit[0], '    ')}\n  },\n  {\n${cList(m.cLogit[1], '    ')}\n  }\n};\n`);
    this.weightBytes += 8 * m.outputSize;
    this.helpers.add('asr');
    const relu = m.activation === 'relu';
    this.helpers.add('mulFixed').add('sat');
    const zp = m.inputZeroPoint;
    const project = sparse
      ? `static void ${nm}_project(${nm}_state *s, const int32_t *x) {
  const int32_t mult = ${nm}_in_mult[s->phase];
  const int in_shift = ${nm}_in_shift[s->phase];
  size_t j, d;
  for (j = 0; j < ${P}_HIDDEN; j++) s->z[j] = ${nm}_bias[j];
  for (d = 0; d < ${P}_INPUTS; d++) {
    const int32_t xd = ${zp === 0 ? 'x[d]' : `x[d] - (${cInt(zp)})`};
    if (xd == 0) continue;
${axpyLoop(U, 'd', 'xd', (k) => `s->z[${k}]`, 'int32_t', '    ')}
  }
  for (j = 0; j < ${P}_HIDDEN; j++) s->z[j] = oq_clamp(oq_mul_fixed(s->z[j], mult, in_shift), -${INPUT_LIMIT}, ${INPUT_LIMIT});
}
`
      : `static void ${nm}_project(${nm}_state *s, const int32_t *x) {
  const int32_t mult = ${nm}_in_mult[s->phase];
  const int in_shift = ${nm}_in_shift[s->phase];
  size_t j;
  for (j = 0; j < ${P}_HIDDEN; j++) {
${this.projection(U, m.bInput, `${nm}_bias`, 'j', 'x', (v) => `oq_mul_fixed(${v}, mult, in_shift)`, 's->z[j]', '    ')}
  }
}
`;
    // The recurrent step: additions, subtractions, shifts, bitwise logic and comparisons only
    // (a test checks that this function's text has no '*', '/' or '%'). Orders p·2^k: the
    // butterflies run on slices of Q = 2^k, then the p × p ±1 stage and 1/sqrt(m) as shifts
    // (as kronHadamardStep in ../engines/hadamrnn-kron.ts).
    const slice = kron ? `${P}_SLICE` : `${P}_BLOCK`;
    const recurrent = `static void ${nm}_recurrent(int32_t h[], const int32_t z[], int shift${kron ? ', int32_t tmp[]' : ''}) {
  const int32_t mask = (int32_t)(((uint32_t)1 << shift) - 1u);
  const int32_t half = mask >> 1;
  size_t base, w, i, j, k;
  for (base = 0; base < ${P}_HIDDEN; base += ${slice}) {
    for (w = 1; w < ${slice}; w <<= 1) {
      for (i = base; i < base + ${slice}; i += w << 1) {
        for (j = i; j < i + w; j++) {
          const int32_t a = h[j];
          const int32_t c = h[j + w];
          h[j] = a + c;
          h[j + w] = a - c;
        }
      }
    }
  }
${kron ? kron.stage : ''}  for (k = 0; k < ${P}_HIDDEN; k++) {
    const int32_t sgn = 0 - (int32_t)((${nm}_signs[k >> 3] >> (k & 7u)) & 1u);
${kron ? kron.scale : ''}    int32_t v = z[k] + ((${kron ? 'a' : 'h[k]'} ^ sgn) - sgn);
    if (shift > 0) {
      const int32_t up = (int32_t)((uint32_t)(half + (int32_t)((uint32_t)v >> 31) - (v & mask)) >> 31);
      v = OQ_ASR(v, shift) + up;
    }
    if (v < ${P}_STATE_MIN) v = ${P}_STATE_MIN;
    else if (v > ${P}_STATE_MAX) v = ${P}_STATE_MAX;
${relu ? '    v &= ~OQ_ASR(v, 31);\n' : ''}    h[k] = v;
  }
}
`;
    const update = `${nm}_project(s, %X%);
  ${nm}_recurrent(s->h, s->z, s->phase == 0 ? ${m.stepShifts[0]} : ${m.stepShifts[1]}${kron ? ', s->tmp' : ''});
  s->phase ^= 1;`;
    const reluRead = m.readoutActivation === 'relu';
    const readout = this.readout(V, (o) => `${nm}_cLogit[s->phase][${o}]`, (h) => (reluRead ? `(${h} > 0 ? ${h} : 0)` : h), reluRead ? this.qmax : 2 ** (m.actBits - 1), Math.max(maxAbs(m.cLogit[0]), maxAbs(m.cLogit[1])));
    const code = project + '\n' + recurrent + '\n' + this.stepFunctions(update, readout, `  size_t j;\n  for (j = 0; j < ${P}_HIDDEN; j++) s->h[j] = 0;\n  s->phase = 0;\n`);
    const state: StateField[] = [
      { name: 'h', length: n, comment: 'hidden codes (on the grid of `phase`)' },
      { name: 'z', length: n, comment: 'scratch: the input projection of the step' },
      ...(kron ? [{ name: 'tmp', length: bs, comment: 'scratch: one block for the p x p stage' }] : []),
      ...this.tokenScratch(),
      { name: 'phase', length: 1, comment: 'grid of h: real step STATE_SCALE0 (0) or STATE_SCALE1 (1)' },
    ];
    return {
      state,
      code,
      notes: [
        `HadamRNN${bs < n ? ` (Block-HadamRNN, blocks of ${bs})` : ''}: W = diag(signs) kron(I, H_${bs}) / sqrt(${bs}); the recurrent step is`,
        ...(kron
          ? [
              `H_${bs} = kron(H_${m.hadamardOrder}, H_${bs / m.hadamardOrder!}): fast Walsh-Hadamard transforms of slices of ${bs / m.hadamardOrder!}, a ${m.hadamardOrder} x ${m.hadamardOrder} +-1 stage`,
              `(additions and subtractions of slices), 1/sqrt(${bs}) as ${kron.terms} shifted copies, sign flips and a rounding shift: no multiplication.`,
            ]
          : ['a fast Walsh-Hadamard transform, sign flips and a rounding shift: no multiplication.']),
        `Logits: real value = logit * ${P}_LOGIT_SCALE0 when state.phase == 0 after the step, else * ${P}_LOGIT_SCALE1.`,
      ],
    };
  }

  /**
   * Orders m = p·2^k (H_m = H_p ⊗ H_q): H_p as a const table, the p-stage (output slice a of a
   * block = the sum of its slices b with H_p[a, b] = +1 minus the others, through `tmp`) and
   * a = h·C/2^{F−G} as one arithmetic shift and one add per set bit of C (left shifts through
   * uint32_t: no undefined behaviour) — the JS engine's kronHadamardStep, term for term.
   */
  kronStage(m: IntegerHadamRnn): { stage: string; scale: string; terms: number } {
    const P = this.P;
    const nm = this.name;
    const p = m.hadamardOrder!;
    const bs = m.blockSize;
    const hp = m.hadamardP!;
    if (!Number.isInteger(p) || p < 2 || bs % p !== 0 || hp.length !== p * p) throw new InputError(`expected H_p of order p dividing blockSize ${bs} (p·p entries), got order ${p} with ${hp.length} entries`, 'model.hadamardP');
    const q = bs / p;
    if ((q & (q - 1)) !== 0) throw new InputError(`expected blockSize = p·2^k, got ${bs} = ${p}·${q}`, 'model.blockSize');
    for (let i = 0; i < hp.length; i++) if (hp[i] !== 1 && hp[i] !== -1) throw new InputError(`expected ±1, got ${hp[i]}`, `model.hadamardP[${i}]`);
    const shifts = multiplierShifts(m.stepMultiplier!, m.multiplierShift!, m.stepShifts[0]);
    if (m.stepShifts[1] !== m.stepShifts[0]) throw new InputError(`an order p·2^k has one state grid: expected equal shifts, got ${m.stepShifts.join(', ')}`, 'model.stepShifts');
    this.tables.push(`/* H_${p} (row-major, +-1): the ${p} x ${p} stage of H_${bs} = kron(H_${p}, H_${q}) */\n#define ${P}_ORDER ${p}\n#define ${P}_SLICE ${q}\nstatic const int8_t ${nm}_hp[${p * p}] = {\n${cList(hp)}\n};\n`);
    this.weightBytes += p * p;
    const stage = `  for (base = 0; base < ${P}_HIDDEN; base += ${P}_BLOCK) {
    size_t a, b, hi = 0;
    for (j = 0; j < ${P}_BLOCK; j++) tmp[j] = h[base + j];
    for (a = 0; a < ${P}_BLOCK; a += ${P}_SLICE) {
      for (j = 0; j < ${P}_SLICE; j++) h[base + a + j] = 0;
      for (b = 0; b < ${P}_BLOCK; b += ${P}_SLICE, hi++) {
        if (${nm}_hp[hi] > 0) for (j = 0; j < ${P}_SLICE; j++) h[base + a + j] += tmp[b + j];
        else for (j = 0; j < ${P}_SLICE; j++) h[base + a + j] -= tmp[b + j];
      }
    }
  }
`;
    const term = (r: number) => (r >= 0 ? `OQ_ASR(h[k], ${r})` : `(int32_t)((uint32_t)h[k] << ${-r})`);
    const scale = `    const int32_t a = ${Array.from(shifts, term).join(' + ') || '0'};\n`;
    return { stage, scale, terms: shifts.length };
  }

  ornn(m: IntegerOrnn): KindBody {
    const { n } = m;
    const P = this.P;
    const nm = this.name;
    const U = this.addMatrix(matrix(`${nm}_U`, transpose(m.U.codes, m.inputSize, n), n, m.inputSize), `U^T (input projection, row j = unit j), ${m.U.bits}-bit codes, scale ${m.U.scale}`);
    this.addVector(`${nm}_bias`, m.bInput, 'input bias in the input accumulator scale');
    const W = this.addMatrix(matrix(`${nm}_W`, m.W.codes, n, n), `W (h_t = W h_{t-1} + ...), ${m.W.bits}-bit codes, scale ${m.W.scale}`);
    const V = this.addMatrix(matrix(`${nm}_V`, m.V.codes, n, m.outputSize), `V (readout, row j = unit j), ${m.V.bits}-bit codes, scale ${m.V.scale}`);
    this.addVector(`${nm}_cLogit`, m.cLogit, 'output bias in the logit scale');
    const relu = m.activation === 'relu';
    const accW = accumulatorType(W, 2 ** (m.actBits - 1), INPUT_LIMIT);
    this.helpers.add('sat');
    const update = `size_t i;
  for (i = 0; i < ${P}_HIDDEN; i++) {
    int32_t z;
    ${accW} acc;
${this.projection(U, m.bInput, `${nm}_bias`, 'i', '%X%', (v) => this.mul(v, m.inputRescale), 'z', '    ')}
    acc = z;
${dotLoop(W, 'i', (k) => `s->h[${k}]`, 'acc', accW, '    ')}
    s->next[i] = oq_clamp(${this.mul(this.narrow('acc', accW), m.stateRescale)}, ${relu ? 0 : `${P}_STATE_MIN`}, ${P}_STATE_MAX);
  }
  for (i = 0; i < ${P}_HIDDEN; i++) s->h[i] = s->next[i];`;
    const reluRead = m.readoutActivation === 'relu';
    const readout = this.readout(V, (o) => `${nm}_cLogit[${o}]`, (h) => (reluRead ? `(${h} > 0 ? ${h} : 0)` : h), reluRead ? this.qmax : 2 ** (m.actBits - 1), maxAbs(m.cLogit));
    const code = this.stepFunctions(update, readout, `  size_t j;\n  for (j = 0; j < ${P}_HIDDEN; j++) s->h[j] = 0;\n`);
    return {
      state: [
        { name: 'h', length: n, comment: 'hidden codes' },
        { name: 'next', length: n, comment: 'scratch: the next hidden codes' },
        ...this.tokenScratch(),
      ],
      code,
      notes: [`Dense ORNN / QORNN: W is ${W.storage === 'packed' ? `bit-packed at ${W.width} bits a code` : `stored as ${W.storage}`}.`, `Logits: real value = logit * ${P}_LOGIT_SCALE.`],
    };
  }

  lstm(m: IntegerLstm): KindBody {
    const { n } = m;
    const P = this.P;
    const nm = this.name;
    const cellIn = 30 - m.cellShift;
    if (!(Number.isInteger(m.cellShift) && m.cellShift >= 0 && m.cellShift <= 30)) throw new InputError(`expected an integer in 0..30, got ${m.cellShift}`, 'model.cellShift');
    if (m.sigmoidTable.length !== 513 || m.tanhTable.length !== 513) throw new InputError('expected 513-entry sigmoid and tanh tables', 'model.sigmoidTable');
    const Wx = this.addMatrix(matrix(`${nm}_Wx`, transpose(m.Wx.codes, m.inputSize, 4 * n), 4 * n, m.inputSize), `Wx^T (row k = gate pre-activation k; gates i, f, g, o), scale ${m.Wx.scale}`);
    this.addVector(`${nm}_bias`, m.bInput, 'gate bias in the Wx accumulator scale');
    const Wh = this.addMatrix(matrix(`${nm}_Wh`, transpose(m.Wh.codes, n, 4 * n), 4 * n, n), `Wh^T (row k = gate pre-activation k), scale ${m.Wh.scale}`);
    this.addVector(`${nm}_sigmoid`, m.sigmoidTable, 'sigmoid, Q3.12 -> Q0.15, 513 samples of [-8, 8]', 'int16_t');
    this.addVector(`${nm}_tanh`, m.tanhTable, 'tanh, Q3.12 -> Q0.15, 513 samples of [-8, 8]', 'int16_t');
    const V = this.addMatrix(matrix(`${nm}_V`, m.V.codes, n, m.outputSize), `V (readout, row j = unit j), scale ${m.V.scale}`);
    this.addVector(`${nm}_cLogit`, m.cLogit, 'output bias in the logit scale');
    const zp = m.stateZeroPoint;
    const hMax = Math.max(Math.abs(-128 - zp), Math.abs(127 - zp));
    const accH = accumulatorType(Wh, hMax, 0);
    this.helpers.add('lut').add('sat').add('rshift');
    const cell = m.cellShift >= 12 ? `oq_rshift(c, ${m.cellShift - 12})` : `oq_clamp((int64_t)c * ${2 ** (12 - m.cellShift)}, -32768, 32767)`;
    const update = `size_t j;
  for (j = 0; j < ${P}_HIDDEN; j++) {
    int32_t pre[4], gi, gf, gg, go, c;
    int g;
    for (g = 0; g < 4; g++) {
      const size_t k = (size_t)g * ${P}_HIDDEN + j;
      int32_t gx;
      ${accH} acc = 0;
${this.projection(Wx, m.bInput, `${nm}_bias`, 'k', '%X%', (v) => this.mul(v, m.inputRescale), 'gx', '      ')}
${dotLoop(Wh, 'k', (kk) => `(s->h[${kk}] - (${cInt(zp)}))`, 'acc', accH, '      ')}
      pre[g] = oq_clamp((int64_t)gx + ${this.mul(this.narrow('acc', accH), m.recurrentRescale)}, -32768, 32767);
    }
    gi = oq_lut(${nm}_sigmoid, pre[0]);
    gf = oq_lut(${nm}_sigmoid, pre[1]);
    gg = oq_lut(${nm}_tanh, pre[2]);
    go = oq_lut(${nm}_sigmoid, pre[3]);
    c = oq_clamp((int64_t)oq_rshift(gf * s->c[j], 15) + oq_rshift(gi * gg, ${cellIn}), -32768, 32767);
    s->c[j] = c;
    s->next[j] = oq_clamp((int64_t)${this.mul(`go * oq_lut(${nm}_tanh, ${cell})`, m.hiddenRescale)} + (${cInt(zp)}), -128, 127);
  }
  for (j = 0; j < ${P}_HIDDEN; j++) s->h[j] = s->next[j];`;
    const readout = this.readout(V, (o) => `${nm}_cLogit[${o}]`, (h) => `(${h} - (${cInt(zp)}))`, hMax, maxAbs(m.cLogit));
    const code = this.stepFunctions(update, readout, `  size_t j;\n  for (j = 0; j < ${P}_HIDDEN; j++) { s->h[j] = ${cInt(zp)}; s->c[j] = 0; }\n`);
    return {
      state: [
        { name: 'h', length: n, comment: `hidden codes (int8, zero point ${zp})` },
        { name: 'c', length: n, comment: `cell codes (int16, real step 2^-${m.cellShift})` },
        { name: 'next', length: n, comment: 'scratch: the next hidden codes' },
        ...this.tokenScratch(),
      ],
      code,
      notes: ['Integer LSTM (TFLite scheme): int8 weights and hidden state, Q3.12 gate inputs, Q0.15 gates from 513-entry tables, int16 cell.', `Logits: real value = logit * ${P}_LOGIT_SCALE.`],
    };
  }

  tokenScratch(): StateField[] {
    return this.model.vocabSize !== undefined ? [{ name: 'x', length: this.model.inputSize, comment: "scratch: the token's embedding codes" }] : [];
  }

  header(state: StateField[], notes: string[]): string {
    const m = this.model;
    const P = this.P;
    const nm = this.name;
    const tokens = m.vocabSize !== undefined;
    const stateBytes = state.reduce((s, f) => s + 4 * f.length, 0);
    const scales: string[] =
      m.kind === 'hadamrnn'
        ? [
            `#define ${P}_STATE_SCALE0 ${num(m.stateScales[0])} /* real step of a hidden code on phase 0 */`,
            `#define ${P}_STATE_SCALE1 ${num(m.stateScales[1])} /* ... on phase 1 */`,
            `#define ${P}_LOGIT_SCALE0 ${num(m.V.scale * m.stateScales[0])} /* real step of a logit when phase == 0 */`,
            `#define ${P}_LOGIT_SCALE1 ${num(m.V.scale * m.stateScales[1])} /* ... when phase == 1 */`,
          ]
        : [`#define ${P}_STATE_SCALE ${num(m.stateScale)} /* real step of a hidden code */`, `#define ${P}_LOGIT_SCALE ${num(m.V.scale * m.stateScale)} /* real step of a logit */`];
    const input = tokens
      ? [
          ` * Input: one token id per step (0 <= id < ${P}_VOCAB); its embedding row is the step's input codes.`,
        ]
      : [
          ` * Input quantization (done by the caller, at the sensor): for each of the ${P}_INPUTS features x,`,
          ` *   x_q = clamp(round_half_even(x / ${P}_INPUT_SCALE) + ${P}_INPUT_ZERO_POINT, ${P}_INPUT_MIN, ${P}_INPUT_MAX)`,
          ` * (${P}_INPUT_SCALE is a float for that conversion; the model code uses no floating point).`,
        ];
    return `/* ${nm}.h: generated by orthoquant export-c from ${this.sourceDesc}. Do not edit.
 *
 * ${m.kind} model: n = ${m.n} hidden units, ${m.inputSize} input features, ${m.outputSize} outputs, readout ${m.readout},
 * ${m.kind === 'lstm' ? 'int8' : `${m.actBits}-bit`} activation codes. C99, <stdint.h> and <stddef.h> only; integer arithmetic only;
 * no heap; no global mutable state (the caller owns ${nm}_state); weights are const tables.
 *
${notes.map((l) => ` * ${l}`).join('\n')}
 *
${input.join('\n')}
 *
 * Use:
 *   ${nm}_state s;               (${stateBytes} bytes: state and scratch)
 *   ${nm}_reset(&s);             before each sequence
 *   ${nm}_step(&s, x, logits);   one step: ${tokens ? '&token' : `x = ${P}_INPUTS input codes`}; logits = ${P}_OUTPUTS int32 or NULL (no readout)
 *   ${nm}_run(&s, xs, T, logits); T steps (xs = T * ${P}_INPUT_VALUES values); logits: ${m.readout === 'last' ? `${P}_OUTPUTS, after the last step` : `T * ${P}_OUTPUTS, every step`}
 * step and run return 0, or -1 for an input code out of range or an unknown token id.
 */
#ifndef ${P}_H
#define ${P}_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ${P}_HIDDEN ${m.n}
#define ${P}_INPUTS ${m.inputSize} /* input codes per step */
#define ${P}_OUTPUTS ${m.outputSize}
#define ${P}_INPUT_VALUES ${tokens ? 1 : m.inputSize} /* int32 values the API takes per step */
#define ${P}_READOUT_LAST ${m.readout === 'last' ? 1 : 0} /* 1: logits of the last step only; 0: every step */
${tokens ? `#define ${P}_VOCAB ${m.vocabSize}\n` : ''}${m.kind === 'hadamrnn' ? `#define ${P}_BLOCK ${m.blockSize} /* Walsh-Hadamard block size */\n` : ''}#define ${P}_STATE_MIN (${cInt(this.qmin)})
#define ${P}_STATE_MAX ${this.qmax}
#define ${P}_INPUT_MIN (${cInt(m.kind === 'lstm' ? -128 : this.qmin)})
#define ${P}_INPUT_MAX ${m.kind === 'lstm' ? 127 : this.qmax}
#define ${P}_INPUT_SCALE ${num(m.inputScale)}
#define ${P}_INPUT_ZERO_POINT ${m.inputZeroPoint}
${scales.join('\n')}
#define ${P}_WEIGHT_BYTES ${this.weightBytes} /* const tables (flash) */
#define ${P}_STATE_BYTES ${stateBytes} /* sizeof(${nm}_state) (RAM) */

typedef struct {
${state.map((f) => `  int32_t ${f.name}${f.length > 1 || f.name !== 'phase' ? `[${f.length}]` : ''}; /* ${f.comment} */`).join('\n')}
} ${nm}_state;

void ${nm}_reset(${nm}_state *s);
int ${nm}_step(${nm}_state *s, const int32_t *input, int32_t *logits);
int ${nm}_run(${nm}_state *s, const int32_t *inputs, size_t steps, int32_t *logits);
void ${nm}_readout(const ${nm}_state *s, int32_t *logits);

#ifdef __cplusplus
}
#endif

#endif /* ${P}_H */
`;
  }

  source(code: string): string {
    const nm = this.name;
    return `/* ${nm}.c: generated by orthoquant export-c from ${this.sourceDesc}. Do not edit. See ${nm}.h. */
#include "${nm}.h"

/* sizeof(${nm}_state) is ${this.P}_STATE_BYTES (int32 members only). */
typedef char ${nm}_state_size_check[sizeof(${nm}_state) == ${this.P}_STATE_BYTES ? 1 : -1];

${this.tables.join('\n')}
${helpersC(this.helpers)}
${code}`;
  }
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** A C double literal (documentation constants). */
function num(x: number): string {
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}
