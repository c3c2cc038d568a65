/**
 * The fixed-point primitives of ../fixed-point/fixed-point.ts in C99 (the same TFLite /
 * gemmlowp conventions, bit for bit), emitted as `static` functions: only those a model uses,
 * so that `-Wall -Wextra -Werror` sees no unused function.
 */

export type CHelper = 'asr' | 'sat32' | 'sat' | 'rshift' | 'srdhm' | 'mulFixed' | 'lut';

const DEPENDS: Record<CHelper, CHelper[]> = {
  asr: [],
  sat32: [],
  sat: [],
  rshift: ['asr'],
  srdhm: [],
  mulFixed: ['srdhm', 'rshift'],
  lut: ['rshift'],
};

const TEXT: Record<CHelper, string> = {
  asr: `/* Arithmetic right shift (floor(x / 2^s)); portable where >> of a negative int is not. */
#if (-1 >> 1) == -1
#define OQ_ASR(x, s) ((x) >> (s))
#else
#define OQ_ASR(x, s) ((x) < 0 ? ~(~(x) >> (s)) : (x) >> (s))
#endif
`,
  sat32: `static int32_t oq_sat32(int64_t x) {
  return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : (int32_t)x;
}
`,
  sat: `static int32_t oq_clamp(int64_t x, int32_t lo, int32_t hi) {
  return x < lo ? lo : x > hi ? hi : (int32_t)x;
}
`,
  rshift: `/* x / 2^s rounded to nearest, ties away from zero (gemmlowp RoundingDivideByPOT), 0 <= s <= 31. */
static int32_t oq_rshift(int32_t x, int s) {
  int32_t mask, rem, threshold;
  if (s == 0) return x;
  mask = (int32_t)(((uint32_t)1 << s) - 1u);
  rem = x & mask;
  threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return OQ_ASR(x, s) + (rem > threshold ? 1 : 0);
}
`,
  srdhm: `/* The int32 nearest to a * b / 2^31, ties away from zero (SaturatingRoundingDoublingHighMul). */
static int32_t oq_srdhm(int32_t a, int32_t b) {
  int64_t ab;
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  ab = (int64_t)a * (int64_t)b;
  ab += ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
  return (int32_t)(ab / ((int64_t)1 << 31));
}
`,
  mulFixed: `/* x * M * 2^(e - 31) (TFLite MultiplyByQuantizedMultiplier): saturating left shift, srdhm, rounding right shift. */
static int32_t oq_mul_fixed(int32_t x, int32_t m, int e) {
  if (e > 0) {
    const int32_t lim = INT32_MAX >> e;
    x = x > lim ? INT32_MAX : x < -lim - 1 ? INT32_MIN : (int32_t)((int64_t)x * ((int64_t)1 << e));
  }
  x = oq_srdhm(x, m);
  return e >= 0 ? x : -e > 31 ? 0 : oq_rshift(x, -e);
}
`,
  lut: `/* Q3.12 int16 -> Q0.15 from a 513-entry table over [-8, 8] with linear interpolation. */
static int32_t oq_lut(const int16_t table[513], int32_t x) {
  const int32_t u = x + 32768;
  const int32_t i = u >> 7;
  const int32_t base = table[i];
  return base + oq_rshift((table[i + 1] - base) * (u & 127), 7);
}
`,
};

const ORDER: CHelper[] = ['asr', 'sat32', 'sat', 'rshift', 'srdhm', 'mulFixed', 'lut'];

/** The C text of the helpers a model uses (and what they use), in dependency order. */
export function helpersC(used: Iterable<CHelper>): string {
  const all = new Set<CHelper>();
  const add = (h: CHelper) => {
    if (all.has(h)) return;
    all.add(h);
    for (const d of DEPENDS[h]) add(d);
  };
  for (const h of used) add(h);
  return ORDER.filter((h) => all.has(h))
    .map((h) => TEXT[h])
    .join('\n');
}
