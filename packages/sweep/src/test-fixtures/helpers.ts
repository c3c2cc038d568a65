import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Sandbox {
  dir: string;
  db: string;
  write(name: string, text: string): string;
  cleanup(): void;
}

export function sandbox(prefix = 'orthoquant-sweep-'): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    db: join(dir, 'test.db'),
    write(name, text) {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Start the coordinator fixture in its own process group (so the group can be killed). */
export function startCoordinator(db: string, file: string, workers: number, env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const script = fileURLToPath(new URL('./coordinator.ts', import.meta.url));
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
  const child = spawn(process.execPath, [...execArgv, script, db, file, String(workers)], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * Run `f` with FAKE_TRAINER_LOG set to `log` (the worker processes it starts inherit it: the
 * fake trainer appends a trial's config id there each time it runs to completion).
 */
export async function withCompletionLog<T>(log: string, f: () => Promise<T>): Promise<T> {
  process.env.FAKE_TRAINER_LOG = log;
  try {
    return await f();
  } finally {
    delete process.env.FAKE_TRAINER_LOG;
  }
}
