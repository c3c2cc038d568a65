/**
 * Argument checks of the typed-array layer (the JS side of native/binding.h's `Args`): every
 * message names the function, the argument and what was expected.
 */

/** `a` must be a Float32Array (or, with 'i32', an Int32Array) of exactly `len` values. */
export function checkArray(where: string, name: string, a: unknown, len: number, type: 'f32' | 'i32' = 'f32'): void {
  const ok = type === 'f32' ? a instanceof Float32Array : a instanceof Int32Array;
  if (!ok) throw new Error(`${where}: ${name} must be a${type === 'f32' ? ' Float32Array' : 'n Int32Array'}`);
  const length = (a as Float32Array | Int32Array).length;
  if (length !== len) throw new Error(`${where}: ${name} has ${length} values, expected ${len}`);
}

/** Each value must be a positive integer. */
export function checkPositiveIntegers(where: string, values: readonly (readonly [string, number])[]): void {
  for (const [name, v] of values) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${where}: ${name} must be a positive integer, got ${v}`);
  }
}

/** Each entry of `a` must lie in [0, m); `what` names one entry ("target", "input index"). */
export function checkIndices(where: string, what: string, a: Int32Array, m: number): void {
  for (let r = 0; r < a.length; r++) {
    const i = a[r];
    if (!(i >= 0 && i < m)) throw new Error(`${where}: ${what} ${i} at row ${r} is outside [0, ${m})`);
  }
}
