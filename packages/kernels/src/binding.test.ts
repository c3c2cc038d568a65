/**
 * The addon's one binding layer (native/binding.h, native/binding.cc), called directly: every
 * export goes through the same entry point (argument count, error prefix), and the typed reader
 * names the argument and what it expected. Both builds where present.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { addonPaths, loadNativeIsa } from './native.js';
import type { Isa } from './native.js';

type RawAddon = Record<string, (...args: unknown[]) => unknown>;

const native = process.env.ORTHOQUANT_KERNELS_NATIVE !== '0';
const builds = (['baseline', 'avx2'] as const).filter((isa) => native && loadNativeIsa(isa).impl);

function raw(isa: Isa): RawAddon {
  return createRequire(import.meta.url)(addonPaths[isa]) as RawAddon;
}

describe('native binding layer', { skip: builds.length ? false : 'no native build here' }, () => {
  for (const isa of builds) {
    it(`${isa}: every export checks its argument count through the one entry point`, () => {
      const addon = raw(isa);
      const names = Object.getOwnPropertyNames(addon).filter((k) => typeof addon[k] === 'function' && k !== 'info');
      assert.ok(names.length >= 14, `only ${names.length} exports: ${names.join(', ')}`);
      for (const name of names) {
        assert.throws(() => addon[name](), new RegExp(`^Error: orthoquant_kernels\\.${name}: ${name} expects [1-9]\\d* arguments$`), name);
      }
      const info = addon.info() as { simd: string; hardwareThreads: number };
      assert.equal(typeof info.simd, 'string');
      assert.ok(info.hardwareThreads >= 1);
    });

    it(`${isa}: the argument reader names the argument and what it expected`, () => {
      const addon = raw(isa);
      const f32 = (n: number) => new Float32Array(n);
      // forward(kind, activation, T, B, n, blockSize, threads, z, w, h0, bias, out, p, hp)
      const T = 2;
      const B = 1;
      const n = 4;
      const call = (over: Record<number, unknown>) => {
        const args: unknown[] = [0, 0, T, B, n, n, 1, f32(T * B * n), f32(n * n), null, null, f32(T * B * n), 1, null];
        for (const [k, v] of Object.entries(over)) args[Number(k)] = v;
        return () => addon.forward(...args);
      };
      call({})();
      assert.throws(call({ 2: 'two' }), /^Error: orthoquant_kernels\.forward: T must be a number$/);
      assert.throws(call({ 7: new Int32Array(T * B * n) }), /^Error: orthoquant_kernels\.forward: z must be a Float32Array$/);
      assert.throws(call({ 8: f32(5) }), /^Error: orthoquant_kernels\.forward: W has 5 values, expected 16$/);
      assert.throws(call({ 9: f32(3) }), /^Error: orthoquant_kernels\.forward: h0 has 3 values, expected 4$/);
      assert.throws(call({ 0: 1, 5: 3 }), /^Error: orthoquant_kernels\.forward: blockSize must divide n$/);
      assert.throws(call({ 0: 1, 12: 3, 13: new Float32Array(9) }), /^Error: orthoquant_kernels\.forward: blockSize 4 must be p·2\^k with p = 3$/);
      // readoutCrossEntropy(N, k, m, relu, threads, x, W, c, targets, scale, dx, dW, dc)
      const ce = (targets: unknown, scale: unknown) => () => addon.readoutCrossEntropy(3, 2, 2, 0, 1, f32(6), f32(4), f32(2), targets, scale, null, null, null);
      const loss = ce(new Int32Array([0, 1, 1]), 1)() as number;
      assert.ok(Math.abs(loss - 3 * Math.log(2)) < 1e-6, `Σ loss of three uniform rows: ${loss}`);
      assert.throws(ce(new Int32Array([0, 2, 1]), 1), /^Error: orthoquant_kernels\.readoutCrossEntropy: target 2 at row 1 is outside \[0, 2\)$/);
      assert.throws(ce(new Float32Array(3), 1), /^Error: orthoquant_kernels\.readoutCrossEntropy: targets must be an Int32Array$/);
      assert.throws(ce(new Int32Array(3), 'x'), /^Error: orthoquant_kernels\.readoutCrossEntropy: scale must be a number$/);
    });
  }
});
