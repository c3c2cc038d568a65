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

/**
 * Bad input from a user (a YAML file, a config value, a dataset file, a flag). The CLI prints
 * its message without a stack trace and exits with code 2. `where` names the file and/or the
 * key path (`experiments/x.yaml:12:5 parameters.model.bits`).
 */
export class InputError extends Error {
  readonly where?: string;
  constructor(message: string, where?: string) {
    super(where ? `${where}: ${message}` : message);
    this.name = 'InputError';
    this.where = where;
  }
}

export function isInputError(err: unknown): err is InputError {
  return err instanceof Error && (err instanceof InputError || err.name === 'InputError');
}
