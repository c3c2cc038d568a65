/** @orthoquant/bench: the benchmark suite (`npm run bench`): training and inference speed and memory against PyTorch. */
export { median, summarize, ratio } from './stats.js';
export type { Summary } from './stats.js';
export { parseArgs, BenchUsageError, USAGE } from './args.js';
export type { BenchArgs } from './args.js';
export { computeRatios, evaluateTargets, renderMarkdown, writeResults } from './report.js';
export type { BenchResults, CaseResult, CaseGroup, MachineInfo, Shape, TargetStatus, Verdict } from './report.js';
