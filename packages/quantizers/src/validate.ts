/** Argument checks shared by the quantizers; messages name the function and what was expected. */

export const MAX_WEIGHT_BITS = 16;

export function checkBits(bits: number, where: string, max = MAX_WEIGHT_BITS): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > max) {
    throw new Error(`${where}: bits must be an integer in 1..${max}, got ${String(bits)}`);
  }
}

export function checkSte(ste: string, where: string): void {
  if (ste !== 'identity' && ste !== 'clipped') {
    throw new Error(`${where}: ste must be 'identity' or 'clipped', got ${JSON.stringify(ste)}`);
  }
}

/** Normalise an axis in [−rank, rank) to [0, rank). */
export function normaliseAxis(axis: number, rank: number, where: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new Error(`${where}: axis must be an integer in ${-rank}..${rank - 1} for a rank-${rank} tensor, got ${String(axis)}`);
  }
  return axis < 0 ? axis + rank : axis;
}

export function checkShape(length: number, shape: readonly number[] | undefined, where: string): readonly number[] {
  if (shape === undefined) return [length];
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== length || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${where}: shape [${shape.join(', ')}] does not match ${length} values`);
  }
  return shape;
}
