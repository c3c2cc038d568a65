/**
 * What changed between a recorded trial set and a new expansion, in words: which config
 * keys now take other values, and a few added and dropped trials.
 */
import { isPlain } from './spec.js';

interface OldTrial {
  hash: string;
  config: Record<string, unknown>;
  status: string;
}
interface NewTrial {
  hash: string;
  config: Record<string, unknown>;
  label: string;
}

function flatten(obj: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (isPlain(obj) && Object.keys(obj).length > 0) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, JSON.stringify(obj));
  return out;
}

function valueSets(configs: Record<string, unknown>[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const c of configs) {
    for (const [k, v] of flatten(c)) {
      let s = out.get(k);
      if (!s) out.set(k, (s = new Set()));
      s.add(v);
    }
  }
  return out;
}

function showSet(s: Set<string> | undefined): string {
  if (!s) return '(absent)';
  const list = [...s].sort();
  return `[${list.slice(0, 6).join(', ')}${list.length > 6 ? `, … ${list.length - 6} more` : ''}]`;
}

export function describeTrialSetChange(old: OldTrial[], next: NewTrial[]): { text: string; added: number; removed: number } {
  const oldHashes = new Set(old.map((t) => t.hash));
  const newHashes = new Set(next.map((t) => t.hash));
  const added = next.filter((t) => !oldHashes.has(t.hash));
  const removed = old.filter((t) => !newHashes.has(t.hash));
  const a = valueSets(old.map((t) => t.config));
  const b = valueSets(next.map((t) => t.config));
  const changed: string[] = [];
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(key);
    const y = b.get(key);
    if (x && y && x.size === y.size && [...x].every((v) => y.has(v))) continue;
    changed.push(`${key}: ${showSet(x)} → ${showSet(y)}`);
  }
  const doneDropped = removed.filter((t) => t.status === 'done').length;
  const parts = [`the file now gives ${next.length} trials: ${added.length} new, ${removed.length} dropped${doneDropped ? ` (${doneDropped} of them done)` : ''}.`];
  if (changed.length) parts.push(`Changed keys: ${changed.slice(0, 8).join('; ')}${changed.length > 8 ? `; … ${changed.length - 8} more` : ''}.`);
  if (added.length) parts.push(`New, e.g.: ${added.slice(0, 3).map((t) => t.label).join(' | ')}.`);
  return { text: parts.join(' '), added: added.length, removed: removed.length };
}
