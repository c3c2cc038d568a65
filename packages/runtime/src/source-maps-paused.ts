/**
 * Imported for its effect, right before `@tensorflow/tfjs` (tf.ts): ES modules evaluate their
 * imports in order, so the bundles that follow load with source maps paused (source-maps.ts).
 */
import { pauseSourceMaps } from './source-maps.js';

pauseSourceMaps();
