/**
 * The one tfjs instance, loaded with source maps paused (source-maps.ts): the first import
 * pauses them, the body resumes them once every tfjs bundle has been evaluated.
 */
import './source-maps-paused.js';
import * as tf from '@tensorflow/tfjs';
import { resumeSourceMaps } from './source-maps.js';

resumeSourceMaps();

export { tf };
