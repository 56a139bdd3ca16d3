import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/worker/tf.js';
import { TANH_GRAD } from '../../../src/worker/kernels/tanh-grad.js';
import { maxAbsDiff, randomValues, relativeError, runOn, useBackend } from './reference.js';
import { readKernelSwitches } from '../../../src/worker/kernels/wasm-heap.js';

// Where the SIMD module cannot run (a threaded or non-SIMD wasm build), every kernel falls back
// to a JS loop or the stock kernel; TRAINER_WASM_SIMD=0 forces that here.
describe('wasm kernels without the SIMD module', () => {
  before(() => {
    process.env['TRAINER_WASM_SIMD'] = '0';
    readKernelSwitches();
  });
  after(() => {
    delete process.env['TRAINER_WASM_SIMD'];
    readKernelSwitches();
  });

  const x = (shape: number[], seed: number): tf.Tensor => tf.tensor(randomValues(tf.util.sizeFromShape(shape), seed), shape);
  // Tolerances are relative (max abs diff / max abs value), except Tanh's: absolute.
  const cases: Array<{ name: string; run: () => tf.Tensor; tolerance: number; absolute?: boolean }> = [
    {
      name: 'Conv2DBackpropFilter (JS loop)',
      run: () =>
        tf.tidy(() =>
          tf.engine().runKernel(
            tf.Conv2DBackpropFilter,
            { x: x([2, 8, 8, 3], 1), dy: x([2, 8, 8, 16], 2) },
            { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 16] } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor,
        ),
      tolerance: 1e-6,
    },
    {
      name: 'MaxPoolGrad (JS loop)',
      run: () => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid').sum())(x([2, 8, 8, 8], 3))),
      tolerance: 0,
    },
    { name: 'Tanh (stock)', run: () => tf.tidy(() => tf.tanh(x([64, 5], 4))), tolerance: 1e-5, absolute: true },
    { name: 'Sum (stock)', run: () => tf.tidy(() => tf.sum(x([8, 4, 4, 8], 5), [0, 1, 2])), tolerance: 1e-5 },
    { name: 'Add (stock)', run: () => tf.tidy(() => tf.add(x([8, 4, 4, 8], 6), x([8], 7))), tolerance: 0 },
    { name: 'MaxPool (stock)', run: () => tf.tidy(() => tf.maxPool(x([2, 8, 8, 8], 8) as tf.Tensor4D, 2, 2, 'valid')), tolerance: 0 },
  ];
  for (const c of cases) {
    it(`match the cpu backend: ${c.name}`, async () => {
      const expected = await runOn('cpu', c.run);
      const actual = await runOn('wasm', c.run);
      const err = c.absolute === true ? maxAbsDiff(actual, expected) : relativeError(actual, expected);
      assert.ok(err <= c.tolerance, `error ${err}`);
    });
  }

  it("take tfjs's own Tanh gradient (Square, Sub, Multiply), not the fused kernel", async () => {
    await useBackend('wasm');
    const profile = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.tanh(t).sum())(x([64, 5], 9)));
    const names = profile.kernels.map((k) => k.name);
    assert.ok(!names.includes(TANH_GRAD) && names.includes(tf.Square) && names.includes(tf.Sub), names.join(' '));
  });
});
