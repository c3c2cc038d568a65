/**
 * The one tfjs instance.
 *
 * Loaded with `require`, not `import`: tfjs ships CommonJS bundles, and an ES `import` of them
 * makes node lex each bundle for its export names and (under tsx, which runs the CLI, the workers
 * and the bench) pass every module of the tree through the loader hooks: ~30 MB of RSS more in
 * every process than `require` (measured: node + tfjs + wasm, 72 vs 93 MB; under tsx 97 vs 129 MB).
 * Source maps are paused while the bundles load (source-maps.ts).
 *
 * `tf` is then a value, so its types are declared under the same name below (`tf.Tensor2D` in a
 * signature, as `import * as tf` gave them): a type not listed is a compile error naming it.
 */
import { createRequire } from 'node:module';
import type * as TF from '@tensorflow/tfjs';
import { pauseSourceMaps, resumeSourceMaps } from './source-maps.js';

const requireHere = createRequire(import.meta.url);

/** `require(name)` with source maps paused: a tfjs bundle or an optional backend package. */
export function requireBundle<T>(name: string): T {
  pauseSourceMaps();
  try {
    return requireHere(name) as T;
  } finally {
    resumeSourceMaps();
  }
}

export const tf = requireBundle<typeof TF>('@tensorflow/tfjs');

export declare namespace tf {
  export type Rank = TF.Rank;
  export namespace Rank {
    export type R0 = TF.Rank.R0;
    export type R1 = TF.Rank.R1;
    export type R2 = TF.Rank.R2;
    export type R3 = TF.Rank.R3;
    export type R4 = TF.Rank.R4;
    export type R5 = TF.Rank.R5;
    export type R6 = TF.Rank.R6;
  }
  export type Tensor<R extends TF.Rank = TF.Rank> = TF.Tensor<R>;
  export type Scalar = TF.Scalar;
  export type Tensor1D = TF.Tensor1D;
  export type Tensor2D = TF.Tensor2D;
  export type Tensor3D = TF.Tensor3D;
  export type Tensor4D = TF.Tensor4D;
  export type Variable<R extends TF.Rank = TF.Rank> = TF.Variable<R>;
  export type NamedTensorMap = TF.NamedTensorMap;
  export type TensorContainer = TF.TensorContainer;
  export type DataType = TF.DataType;
  export type DataId = TF.DataId;
  export type TensorInfo = TF.TensorInfo;
  export type NamedTensorInfoMap = TF.NamedTensorInfoMap;
  export type NamedAttrMap = TF.NamedAttrMap;
  export type KernelFunc = TF.KernelFunc;
  export type GradSaveFunc = TF.GradSaveFunc;
  export type Optimizer = TF.Optimizer;
}
