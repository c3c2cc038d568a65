/** Finding and reading dataset files: one clear error naming every path tried. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { SETTINGS, setting } from '@orthoquant/runtime';

export const DATA_DIR_ENV = SETTINGS.dataDir.env;
export const DOWNLOAD_SCRIPT = 'packages/tasks/scripts/download-datasets.sh';

/** Candidate roots, in order: the config's `path`, the `dataDir` option, `$ORTHOQUANT_DATA_DIR`. */
export function dataRoots(configPath: string | undefined, dataDir: string | undefined): { root: string; from: string }[] {
  const roots: { root: string; from: string }[] = [];
  if (configPath) roots.push({ root: abs(configPath), from: 'config path' });
  if (dataDir) roots.push({ root: abs(dataDir), from: 'dataDir option' });
  const env = setting('dataDir');
  if (env) roots.push({ root: abs(env), from: DATA_DIR_ENV });
  return roots;
}

function abs(p: string): string {
  return isAbsolute(p) ? p : resolve(process.cwd(), p);
}

export function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** `name` itself or `name.gz`, whichever exists (plain first). */
export function withOptionalGz(pathNoGz: string): string | null {
  if (isFile(pathNoGz)) return pathNoGz;
  if (isFile(`${pathNoGz}.gz`)) return `${pathNoGz}.gz`;
  return null;
}

/** Read a file, gunzipping `.gz` (a bad gzip stream is an error naming the file). */
export function readMaybeGzipped(file: string): Buffer {
  const raw = readFileSync(file);
  if (!file.endsWith('.gz')) return raw;
  try {
    return gunzipSync(raw);
  } catch (err) {
    throw new Error(`${file}: not a valid gzip file (${err instanceof Error ? err.message : String(err)})`);
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function missingDatasetError(dataset: string, tried: string[], howTo: string): Error {
  const list = tried.length ? tried.map((t) => `  - ${t}`).join('\n') : '  (no path given: set the config key `path`, the dataDir option or ORTHOQUANT_DATA_DIR)';
  return new Error(`${dataset}: dataset not found. Tried:\n${list}\n${howTo}`);
}

export { existsSync };
