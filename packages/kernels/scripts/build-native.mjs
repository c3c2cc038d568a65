#!/usr/bin/env node
// Builds the native kernels (native/*.cc) with node-gyp, twice on x64 (binding.gyp): the
// baseline build/Release/orthoquant_kernels.node (no -march flag: runs on any CPU of the
// architecture) and build/Release/orthoquant_kernels_avx2.node (-mavx2 -mfma), which src/native.ts
// loads only on a CPU that has both. Runs as this package's `install` script, so `npm ci` at the repository root builds
// it; also `npm run build:native -w @orthoquant/kernels`.
//
// A failed build never fails the install: the reason goes to build/native-status.json (read by
// src/native.ts, which then falls back to the JS kernels and says why) and to stderr.
// ORTHOQUANT_KERNELS_NATIVE=0 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const statusFile = join(root, 'build', 'native-status.json');

function record(status) {
  mkdirSync(dirname(statusFile), { recursive: true });
  writeFileSync(statusFile, JSON.stringify({ ...status, node: process.version, at: new Date().toISOString() }, null, 2) + '\n');
}

if (process.env.ORTHOQUANT_KERNELS_NATIVE === '0') {
  record({ ok: false, reason: 'skipped: ORTHOQUANT_KERNELS_NATIVE=0' });
  console.error('@orthoquant/kernels: native build skipped (ORTHOQUANT_KERNELS_NATIVE=0); the JS kernels will be used');
  process.exit(0);
}

/** node-gyp: the one npm runs scripts with, else npm's bundled copy next to this node. */
function nodeGypCommand() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, [fromNpm]];
  const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return [process.execPath, [bundled]];
  return ['node-gyp', []];
}

const [cmd, pre] = nodeGypCommand();
const args = [...pre, 'rebuild'];
// Offline builds need local headers: use this node's prefix when npm did not configure nodedir.
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

const started = Date.now();
const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: process.env });
const seconds = ((Date.now() - started) / 1000).toFixed(1);
const addon = join(root, 'build', 'Release', 'orthoquant_kernels.node');
if (r.status === 0 && existsSync(addon)) {
  const builds = ['orthoquant_kernels', 'orthoquant_kernels_avx2'].filter((b) => existsSync(join(root, 'build', 'Release', `${b}.node`)));
  record({ ok: true, seconds: Number(seconds), builds });
  console.error(`@orthoquant/kernels: native kernels built in ${seconds} s (${builds.join(', ')} in ${dirname(addon)})`);
} else {
  const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`
    .split('\n')
    .filter((l) => /error|not found|ERR!/i.test(l) && !/ERR! (stack|System|command|cwd|node -v|node-gyp -v|not ok)/.test(l));
  const reason = r.error ? `${cmd}: ${r.error.message}` : (out.slice(0, 3).join(' | ') || `node-gyp exited with ${r.status}`);
  record({ ok: false, reason });
  console.error(`@orthoquant/kernels: WARNING: the native kernels did not build; the slower JS kernels will be used.\n  reason: ${reason}`);
}
