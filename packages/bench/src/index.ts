/** @orthoquant/bench: the benchmark suite of issue 8 (`npm run bench`). */
export { median, summarize, ratio } from './stats.js';
export type { Summary } from './stats.js';
export { parseArgs, BenchUsageError, USAGE } from './args.js';
export type { BenchArgs } from './args.js';
export { computeRatios, evaluateTargets, renderMarkdown, writeResults } from './report.js';
export type { BenchResults, CaseResult, CaseGroup, MachineInfo, Shape, TargetStatus, Verdict } from './report.js';
