/** Small validation helpers whose messages name what was expected. */

export function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Throw when an array holds NaN or ±Inf; `what` names the quantity in the message. */
export function assertFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new Error(`${what}: non-finite value ${v} at index ${i}`);
  }
}
