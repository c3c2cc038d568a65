/**
 * Canonical JSON and the config hash: the identity of a trial.
 *
 * - Object keys sorted (UTF-16 code unit order) at every depth; keys whose value is
 *   `undefined` are dropped (as JSON does).
 * - Numbers in JavaScript's shortest round-trip form, so `1`, `1.0` and `1e0` in YAML are
 *   one number; `-0` becomes `0`; NaN and ±Infinity are refused (JSON cannot say them).
 * - Only plain data: objects, arrays, strings, numbers, booleans, null. Anything else
 *   (Date, Map, class instances, functions, bigint) is refused with its key path.
 * - Hash: sha256 of the canonical text, hex.
 */
import { createHash } from 'node:crypto';

function pathText(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function write(value: unknown, path: (string | number)[]): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`canonical JSON: ${pathText(path)}: expected a finite number, got ${value}`);
      return Object.is(value, -0) ? '0' : JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value
          .map((v, i) => {
            if (v === undefined) throw new Error(`canonical JSON: ${pathText([...path, i])}: undefined in an array`);
            return write(v, [...path, i]);
          })
          .join(',')}]`;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new Error(`canonical JSON: ${pathText(path)}: expected plain data, got ${(value as object).constructor?.name ?? 'an object'}`);
      }
      const keys = Object.keys(value).sort();
      const parts: string[] = [];
      for (const k of keys) {
        const v = (value as Record<string, unknown>)[k];
        if (v === undefined) continue;
        parts.push(`${JSON.stringify(k)}:${write(v, [...path, k])}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new Error(`canonical JSON: ${pathText(path)}: expected plain data, got ${typeof value}`);
  }
}

/** The canonical JSON text of plain data (see the module comment). */
export function canonicalJson(value: unknown): string {
  return write(value, []);
}

/** sha256 (hex) of a string. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The trial identity: sha256 of the canonical JSON of its resolved config. */
export function configHash(config: unknown): string {
  return sha256(canonicalJson(config));
}

/** The trial-set fingerprint: sha256 over the sorted trial hashes (order-independent). */
export function trialSetFingerprint(hashes: readonly string[]): string {
  return sha256([...hashes].sort().join('\n'));
}
