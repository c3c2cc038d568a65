/**
 * Test doubles for sweep users (kept out of the main barrel): the path of a fake trainer
 * module that follows the `runTrial` contract (see testing/fake-trainer.ts for its knobs).
 */
import { fileURLToPath } from 'node:url';

const fromSource = import.meta.url.endsWith('.ts');

/** Absolute path of the fake trainer module, for `runSweep({ runnerModule })`. */
export const FAKE_TRAINER = fileURLToPath(new URL(`./testing/fake-trainer.${fromSource ? 'ts' : 'js'}`, import.meta.url));
