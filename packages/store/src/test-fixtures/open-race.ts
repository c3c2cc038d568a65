// Child process for open.test.ts: open (and so migrate) a fresh database at the same moment
// as its siblings, then insert one sweep.
import { existsSync } from 'node:fs';
import { openStore, registerSweep } from '../index.js';
import { trialInput } from '../testing.js';

const [dbPath, goFile, name] = process.argv.slice(2);
while (!existsSync(goFile)) await new Promise((r) => setTimeout(r, 2));
const store = openStore(dbPath);
registerSweep(store, { name, spec: 'x', fingerprint: 'f', trials: [trialInput({ who: name })] });
store.close();
