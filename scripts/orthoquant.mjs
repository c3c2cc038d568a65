#!/usr/bin/env node
// Runs the orthoquant CLI from the TypeScript sources (no build step needed): workspace
// packages resolve to src/ through the "@orthoquant/source" export condition and tsx
// compiles on the fly. Child processes (sweep workers) inherit these flags.
//
// Works from any directory and through a symlink (`npm link`, a PATH entry): tsx and the
// CLI are found relative to this file, never the working directory.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'packages', 'cli', 'src', 'main.ts');
const tsx = import.meta.resolve('tsx');
const child = spawn(process.execPath, ['--conditions=@orthoquant/source', '--import', tsx, main, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 9 : 1)));
