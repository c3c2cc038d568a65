/**
 * Activation calibration for PTQ: run the float reference over calibration batches and
 * record the statistics of the inputs, hidden states (and LSTM cells).
 */
import { createCalibrator } from '@orthoquant/quantizers';
import type { ActivationCalibrator } from '@orthoquant/quantizers';
import { InputError } from '@orthoquant/runtime';
import { floatForward } from '../float/reference.js';
import type { FloatModel } from '../model.js';

/** A dense, time-major batch (the shape of `@orthoquant/tasks` dense batches). */
export interface DenseInputs {
  inputs: Float32Array;
  T: number;
  B: number;
}

/** Streaming statistics of the activations PTQ quantizes. */
export interface Calibration {
  input: ActivationCalibrator;
  hidden: ActivationCalibrator;
  /** LSTM only. */
  cell: ActivationCalibrator | null;
  /** Calibration batches seen. */
  batches: number;
}

export interface CalibrateOptions {
  /** Stop after this many batches (default: all). */
  limit?: number;
}

/** Feed calibration batches through the float reference and collect activation statistics. */
export function calibrate(model: FloatModel, batches: Iterable<DenseInputs>, options: CalibrateOptions = {}): Calibration {
  const limit = options.limit ?? Infinity;
  if (!(limit >= 1)) throw new InputError(`expected a number of batches ≥ 1, got ${limit}`, 'calibrate.limit');
  const cal: Calibration = { input: createCalibrator(), hidden: createCalibrator(), cell: model.kind === 'lstm' ? createCalibrator() : null, batches: 0 };
  for (const batch of batches) {
    if (cal.batches >= limit) break;
    floatForward(model, batch.inputs, batch.T, batch.B, {
      input: (v) => cal.input.observe(v),
      hidden: (v) => cal.hidden.observe(v),
      cell: (v) => cal.cell?.observe(v),
    });
    cal.batches++;
  }
  if (cal.batches === 0) throw new InputError('no calibration batches (the split is empty?)', 'calibrate');
  return cal;
}
