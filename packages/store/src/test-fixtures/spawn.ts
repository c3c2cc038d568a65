// Run a fixture script in a child Node with the same loader flags as the test (tsx, source
// conditions), collecting its stdout.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function runFixture(name: string, args: string[], timeoutMs = 50_000): Promise<string> {
  const script = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...execArgv, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${name} ${args.join(' ')} exited with ${code ?? signal}: ${err}`));
    });
  });
}
