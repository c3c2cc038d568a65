/** Fixtures: trial records as the store returns them, for reporter and dashboard tests. */
import type { TrialRecord } from './table.js';

/** Two models × two bit widths × three seeds on sMNIST, plus one failed trial. */
export function fixtureTrials(): TrialRecord[] {
  const out: TrialRecord[] = [];
  let id = 1;
  const acc: Record<string, number[]> = {
    'hadamrnn/1': [0.95, 0.96, 0.97],
    'qornn/4': [0.9, 0.92, 0.94],
    'qornn/8': [0.97, 0.98],
  };
  for (const [key, values] of Object.entries(acc)) {
    const [kind, bits] = key.split('/');
    values.forEach((v, seed) => {
      out.push({
        id: id++,
        status: 'done',
        config: { seed, task: { name: 'smnist' }, model: { kind, bits: Number(bits) } },
        summary: { test_acc: { final: v, best: v + 0.001 }, test_loss: { final: 1 - v, best: 1 - v } },
      });
    });
  }
  out.push({ id: id++, status: 'failed', config: { seed: 9, task: { name: 'smnist' }, model: { kind: 'qornn', bits: 4 } }, summary: { test_acc: { final: 0.1, best: 0.1 } } });
  return out;
}

export const FIXTURE_SPEC = `
name: fixture
title: Fixture table
rows:
  - label: HadamRNN
    where: { model.kind: hadamrnn }
  - label: "QORNN {value}-bit"
    where: { model.kind: qornn }
    for: { key: model.bits, values: [4, 8, 3] }
columns:
  - label: sMNIST acc
    where: { task.name: smnist }
    metric: test_acc
    format: { digits: 1, percent: true, better: higher }
  - label: sMNIST loss
    where: { task.name: smnist }
    metric: test_loss
    stat: best
    format: { digits: 3 }
`;
