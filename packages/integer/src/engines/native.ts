/**
 * Which integer engine runs: the native one (@orthoquant/kernels, native/integer.cc: SIMD,
 * bit-exact with the JS engines of this folder) when the addon is built, else the JS one.
 * `ORTHOQUANT_INTEGER_ENGINE=auto|native|js` (default auto) or `setIntegerEngine()` choose;
 * `integerEngineInfo()` says which one runs and why not native. Models the native code does not
 * cover (HadamRNN orders p·2^k, operation counting, the LSTM) always run in JS.
 */
import { setting } from '@orthoquant/runtime';
import type { KernelChoice } from '@orthoquant/runtime';
import { nativeInference } from '@orthoquant/kernels';
import type { InferenceImplementation } from '@orthoquant/kernels';
import type { IntegerHadamRnn, IntegerOrnn, QuantizedTensor } from '../model.js';
import type { FixedMultiplier } from '../fixed-point/fixed-point.js';

export type IntegerEngineChoice = KernelChoice;

let override: IntegerEngineChoice | null = null;

/** Choose the engine from code (null: back to `ORTHOQUANT_INTEGER_ENGINE`). */
export function setIntegerEngine(choice: IntegerEngineChoice | null): void {
  if (choice !== null && choice !== 'auto' && choice !== 'native' && choice !== 'js') {
    throw new Error(`setIntegerEngine: expected auto|native|js or null, got '${String(choice)}'`);
  }
  override = choice;
}

export function requestedIntegerEngine(): IntegerEngineChoice {
  return override ?? setting('integerEngine');
}

/** The native engines to use, or null for JS (an error when native was asked for and is absent). */
export function nativeEngines(): InferenceImplementation | null {
  const want = requestedIntegerEngine();
  if (want === 'js') return null;
  const nat = nativeInference();
  if (!nat && want === 'native') throw new Error('integer engines: ORTHOQUANT_INTEGER_ENGINE=native but the native kernels are not available (see kernelInfo() of @orthoquant/kernels)');
  return nat;
}

/** Which engine runs the integer HadamRNN and ORNN, and the instruction set of the native one. */
export function integerEngineInfo(): { engine: 'native' | 'js'; simd: string; reason?: string } {
  const want = requestedIntegerEngine();
  if (want === 'js') return { engine: 'js', simd: 'none', reason: 'JS engine requested' };
  const nat = nativeInference();
  return nat ? { engine: 'native', simd: nat.simd } : { engine: 'js', simd: 'none', reason: 'native kernels not available' };
}

// Int32 copies of a model's tensors, made once per model object.
const packed = new WeakMap<object, Record<string, Int32Array>>();

function int32(codes: QuantizedTensor['codes'] | Int32Array): Int32Array {
  return codes instanceof Int32Array ? codes : Int32Array.from(codes);
}
const pair = (m: FixedMultiplier): number[] => [m.multiplier, m.shift];

export function packHadamRnn(model: IntegerHadamRnn): Record<string, Int32Array> {
  let p = packed.get(model);
  if (!p) {
    const O = model.outputSize;
    const cLogit = new Int32Array(2 * O);
    cLogit.set(model.cLogit[0], 0);
    cLogit.set(model.cLogit[1], O);
    p = {
      U: int32(model.U.codes),
      bInput: int32(model.bInput),
      inputRescale: Int32Array.from([...pair(model.inputRescale[0]), ...pair(model.inputRescale[1])]),
      signMask: Int32Array.from(model.signs, (s) => (s < 0 ? -1 : 0)),
      stepShifts: Int32Array.from(model.stepShifts),
      V: int32(model.V.codes),
      cLogit,
    };
    packed.set(model, p);
  }
  return p;
}

export function packOrnn(model: IntegerOrnn): Record<string, Int32Array> {
  let p = packed.get(model);
  if (!p) {
    p = {
      U: int32(model.U.codes),
      bInput: int32(model.bInput),
      inputRescale: Int32Array.from(pair(model.inputRescale)),
      W: int32(model.W.codes),
      stateRescale: Int32Array.from(pair(model.stateRescale)),
      V: int32(model.V.codes),
      cLogit: int32(model.cLogit),
    };
    packed.set(model, p);
  }
  return p;
}
