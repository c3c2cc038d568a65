import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pidAlive } from '@orthoquant/store';

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

export interface FixtureProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Start a fixture script of this folder with the test's Node flags (tsx), collecting its output;
 * in its own process group, so the group (it and the processes it forks) can be signalled at once.
 */
export function startFixture(script: string, args: string[], env: NodeJS.ProcessEnv = {}): FixtureProcess {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
  const child = spawn(process.execPath, [...execArgv, path, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

/**
 * Start the coordinator fixture in its own process group (so the group can be killed): `workers`
 * local worker processes, or the queue coordinator of `{ queue, queueName }`.
 */
export function startCoordinator(db: string, file: string, workers: number | { queue: string; queueName: string }, env: NodeJS.ProcessEnv = {}): FixtureProcess {
  return startFixture('coordinator.ts', [db, file, ...(typeof workers === 'number' ? [String(workers)] : [workers.queue, workers.queueName])], env);
}

/** Send `signal` to the process group of `pid` (a fixture started detached), if any of it is left. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/** Whether no live process of the group of `pid` is left (zombies, dead but not yet reaped, do not count). */
export function groupGone(pid: number): boolean {
  if (!existsSync('/proc/self/stat')) {
    try {
      process.kill(-pid, 0);
      return false;
    } catch {
      return true;
    }
  }
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so split after the last ')'
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pid && state !== 'Z' && state !== 'X') return false;
  }
  return true;
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether `pid` has exited (a zombie, never reaped under a PID 1 that reaps nothing, counts as exited). */
export function pidGone(pid: number): boolean {
  return !pidAlive(pid);
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
