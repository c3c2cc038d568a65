// Writes 2 MB checkpoints into argv[2] in a loop until killed (checkpoint.test.ts kills it).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeCheckpoint, checkpointFileName } from '../checkpoint.js';

const dir = process.argv[2]!;
let step = readdirSync(dir).filter((f) => /^step-\d+\.ckpt$/.test(f)).length * 1000;
const n = 1 << 19;
process.stdout.write('writing\n');
for (;;) {
  step++;
  writeCheckpoint(join(dir, checkpointFileName(step)), { meta: { step }, tensors: { 'model/w': { shape: [n], data: new Float32Array(n).fill(step) } } });
}
