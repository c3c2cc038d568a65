#!/usr/bin/env node
// The installed `orthoquant` binary: the compiled CLI when built (npm run build), else the
// TypeScript sources through tsx (as `npm run orthoquant` does).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';

const dist = fileURLToPath(new URL('../dist/main.js', import.meta.url));
if (existsSync(dist)) {
  await import(dist);
} else {
  const src = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  // tsx resolved from this file, not the working directory (the command runs from anywhere)
  const tsx = import.meta.resolve('tsx');
  const child = spawn(process.execPath, ['--conditions=@orthoquant/source', '--import', tsx, src, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
}
