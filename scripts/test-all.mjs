#!/usr/bin/env node
// `npm test`: every package's tests through Nx, then one summary line over all packages.
// Node's spec reporter ends each package's run with "ℹ tests N / ℹ pass N / ℹ fail N";
// this script adds them up and prints "N passed, N failed, N skipped".
import { spawn } from 'node:child_process';

const nxArgs = ['nx', 'run-many', '-t', 'test', '--output-style=stream', '--skip-nx-cache', ...process.argv.slice(2)];
const child = spawn('npx', nxArgs, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } });
const totals = { pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
let buf = '';
const take = (line) => {
  const m = /(?:ℹ|#)\s+(pass|fail|skipped|todo|cancelled)\s+(\d+)\s*$/.exec(line);
  if (m) totals[m[1]] += Number(m[2]);
};
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  buf += d.toString();
  const lines = buf.split('\n');
  buf = lines.pop() ?? '';
  lines.forEach(take);
});
child.on('close', (code) => {
  take(buf);
  const failed = totals.fail + totals.cancelled;
  console.log('');
  console.log(`orthoquant: ${totals.pass} passed, ${failed} failed, ${totals.skipped + totals.todo} skipped`);
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});
