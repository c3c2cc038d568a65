/**
 * Source maps off while the tfjs bundles load.
 *
 * tsx (which runs the CLI, the workers and the bench from the TypeScript sources) turns node's
 * source maps on for every module, so node reads and keeps the `.map` file of each tfjs bundle
 * it loads (tfjs, core, layers, converter, data, cpu, webgl, wasm: 17 MB of JSON) — about 50 MB
 * of RSS in every process (tfjs + wasm under tsx: 147 vs 97 MB), for stack frames inside tfjs's
 * own bundles. Loading them with source
 * maps off keeps our TypeScript frames mapped (those load afterwards, with the setting restored)
 * and leaves tfjs frames at their bundle positions, as a plain `node` run shows them. A user who
 * asked for maps explicitly (`node --enable-source-maps`) keeps them.
 */
let depth = 0;
let before = false;

function askedExplicitly(): boolean {
  return process.execArgv.includes('--enable-source-maps');
}

/** Stop node from reading source maps of the modules loaded from now on (nested calls count). */
export function pauseSourceMaps(): void {
  if (depth++ > 0) return;
  before = process.sourceMapsEnabled;
  if (before && !askedExplicitly()) process.setSourceMapsEnabled(false);
}

/** Undo the matching `pauseSourceMaps`. */
export function resumeSourceMaps(): void {
  if (depth === 0) throw new Error('resumeSourceMaps without pauseSourceMaps');
  if (--depth === 0 && before !== process.sourceMapsEnabled) process.setSourceMapsEnabled(before);
}
