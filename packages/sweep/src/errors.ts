import { InputError } from '@orthoquant/runtime';

/** The trial set of a recorded sweep differs from its YAML now. */
export class SweepChangedError extends InputError {
  constructor(
    message: string,
    readonly added: number,
    readonly removed: number,
  ) {
    super(message);
    this.name = 'InputError';
  }
}
