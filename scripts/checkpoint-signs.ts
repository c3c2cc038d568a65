// Signs of HadamRNN's latent u across checkpoints: how many flipped since the previous one, how many
// sit within 0.01 of zero, max |u|. Usage: node --conditions=@orthoquant/source --import tsx scripts/checkpoint-signs.ts RUN_DIR/step-*.ckpt
import { readCheckpoint } from '@orthoquant/train';
const files = process.argv.slice(2);
let prev: Float32Array | null = null;
for (const f of files) {
  const c: any = readCheckpoint(f);
  const names = Object.keys(c.tensors ?? {});
  const key = names.find((k) => /(^|\/)u$/.test(k) && !/adam|opt|m\/|v\//i.test(k)) ?? names.find((k) => k.endsWith('/u'));
  const u = c.tensors[key!].data ?? c.tensors[key!];
  let flips = 0, small = 0, maxAbs = 0;
  for (let i = 0; i < u.length; i++) { if (prev && Math.sign(u[i]) !== Math.sign(prev[i])) flips++; if (Math.abs(u[i]) < 0.01) small++; maxAbs = Math.max(maxAbs, Math.abs(u[i])); }
  console.log(f.split('/').pop(), key, 'flips since prev', prev ? flips : '-', '|u|<0.01:', small, 'max|u|', maxAbs.toFixed(3));
  prev = Float32Array.from(u);
}
