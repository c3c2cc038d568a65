/** The PyTorch peer: detection, optional installation, one run of benchmarks/peers/torch_rnn.py. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { PeerSpec } from './cases.js';
import type { Shape } from './report.js';
import { childEnv } from '@orthoquant/runtime';

export const PYTHON = '/usr/bin/python3';
export const INSTALL_HINT = 'apt-get install python3-torch libopenblas0-pthread (as root), or run `npm run bench -- --install-peer` as root';

export interface PeerStatus {
  available: boolean;
  message: string;
  torch: string | null;
}

export function detectTorch(python = PYTHON): PeerStatus {
  if (!existsSync(python)) return { available: false, message: `${python} not found; ${INSTALL_HINT}`, torch: null };
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status === 0) return { available: true, message: 'ok', torch: r.stdout.trim() };
  const why = (r.stderr || r.error?.message || '').trim().split('\n').pop() ?? 'unknown error';
  return { available: false, message: `\`${python} -c 'import torch'\` failed (${why}); to get the peer: ${INSTALL_HINT}`, torch: null };
}

/** apt-get the peer (only when asked with --install-peer, and only as root). */
export function installTorch(log: (s: string) => void): PeerStatus {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return { available: false, message: `--install-peer needs root (apt-get); ${INSTALL_HINT}`, torch: null };
  }
  log('installing the PyTorch peer: apt-get install -y python3-torch libopenblas0-pthread');
  const r = spawnSync('apt-get', ['install', '-y', 'python3-torch', 'libopenblas0-pthread'], { stdio: 'inherit', env: childEnv({ DEBIAN_FRONTEND: 'noninteractive' }) });
  if (r.status !== 0) return { available: false, message: `apt-get install failed (exit ${r.status}); ${INSTALL_HINT}`, torch: null };
  return detectTorch();
}

export interface PeerRun {
  times_s: number[];
  median_s: number;
  min_s: number;
  max_s: number;
  peak_rss_mb: number;
  /** Distinct storages autograd saved for backward in one iteration, MB. */
  kept_mb?: number;
  torch: string;
  threads: number;
  omp_threads?: string | null;
  blas: string;
}

export function runPeer(script: string, spec: PeerSpec, shape: Shape, reps: number, warmup: number, threads = 2): PeerRun {
  const args = [script, '--mode', spec.mode, '--n', String(shape.n), '--B', String(shape.B), '--T', String(shape.T), '--input', String(spec.input), '--classes', String(spec.classes), '--readout', spec.readout, '--reps', String(reps), '--warmup', String(warmup), '--threads', String(threads)];
  // The same thread count for torch's intra-op pool, OpenMP and MKL, set explicitly.
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', timeout: 20 * 60_000, env: childEnv({ OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) }) });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') throw new Error(`torch_rnn.py ${spec.mode}: timed out after 20 min (${reps} runs + ${warmup} warm-up)`);
  if (r.status !== 0) throw new Error(`torch_rnn.py ${spec.mode} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').trim().slice(-800)}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as PeerRun;
  } catch {
    throw new Error(`torch_rnn.py ${spec.mode}: expected a JSON line, got '${line.slice(0, 200)}'`);
  }
}
