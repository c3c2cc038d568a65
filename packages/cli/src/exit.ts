/** Exit codes scripts can trust. */
export const EXIT = { ok: 0, failed: 1, badInput: 2, interrupted: 130 } as const;

/** A flag or command the parser refused, or a `.check()` that failed: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
