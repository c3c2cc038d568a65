/** Fixtures for tests of the bench package (kept out of the main barrel). */
import type { BenchResults, CaseResult } from './report.js';

export function syntheticCase(name: string, over: Partial<CaseResult> = {}): CaseResult {
  return { name, group: 'train-copy', label: name, shape: { n: 128, B: 128, T: 1000 }, times: [1, 2, 3], median: 2, min: 1, max: 3, peakRssMB: 150, ...over };
}

export function syntheticResults(cases: CaseResult[], over: Partial<BenchResults> = {}): BenchResults {
  return {
    date: '2026-01-02',
    startedAt: '2026-01-02T00:00:00.000Z',
    durationSeconds: 12,
    quick: false,
    reps: 3,
    machine: {
      cpuModel: 'Test CPU',
      cores: 2,
      memoryGB: 8,
      loadAverage: { start: [0.1, 0.2, 0.3], end: [0.1, 0.2, 0.3] },
      os: 'linux test',
      node: 'v20.0.0',
      tfjs: '4.0.0',
      backend: 'wasm',
      kernel: { implementation: 'native', simd: 'avx2', threads: 2 },
      torch: '2.0',
      torchBlas: 'openblas',
      torchThreads: 2,
    },
    peer: { available: true, message: 'ok' },
    cases,
    ...over,
  };
}
