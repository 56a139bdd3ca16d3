import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { bitIdentical, randomValues, relativeError, runOn, useBackend } from './reference.js';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
type Case = {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
};

// outChannels % 4 == 0 takes the SIMD path (with every register blocking: 1 to 5 vectors of
// output channels, input channels that leave a remainder); the others take the JS path.
const CASES: Case[] = [
  { name: 'first model conv (3->16, same)', x: [3, 32, 32, 3], filter: [3, 3, 3, 16], strides: 1, pad: 'same' },
  { name: 'second model conv (16->8, same)', x: [3, 16, 16, 16], filter: [3, 3, 16, 8], strides: 1, pad: 'same' },
  { name: 'valid, stride 1, 6 output channels (JS path)', x: [2, 10, 10, 4], filter: [3, 3, 4, 6], strides: 1, pad: 'valid' },
  { name: 'same, stride 2, 20 output channels', x: [2, 11, 12, 5], filter: [3, 3, 5, 20], strides: 2, pad: 'same' },
  { name: 'valid, stride 2, 12 output channels', x: [2, 11, 12, 7], filter: [3, 3, 7, 12], strides: 2, pad: 'valid' },
  { name: 'non-square image and filter', x: [2, 9, 14, 5], filter: [2, 4, 5, 8], strides: [1, 2], pad: 'same' },
  { name: 'non-square, 7 output channels (JS path)', x: [2, 9, 14, 5], filter: [2, 4, 5, 7], strides: [2, 1], pad: 'same' },
  { name: 'numeric pad', x: [2, 8, 8, 2], filter: [3, 3, 2, 4], strides: 1, pad: 1 },
  {
    name: 'explicit pad',
    x: [2, 8, 7, 6],
    filter: [3, 2, 6, 4],
    strides: 2,
    pad: [[0, 0], [1, 2], [0, 1], [0, 0]],
  },
];

function filterGrad(c: Case, seed: number): tf.Tensor {
  const convInfo = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
  const x = tf.tensor(randomValues(tf.util.sizeFromShape(c.x), seed), c.x);
  const dy = tf.tensor(randomValues(tf.util.sizeFromShape(convInfo.outShape), seed + 1), convInfo.outShape);
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter };
  const out = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs as unknown as tf.NamedAttrMap);
  x.dispose();
  dy.dispose();
  return out as tf.Tensor;
}

describe('Conv2DBackpropFilter on wasm', () => {
  for (const c of CASES) {
    it(`matches the cpu backend: ${c.name}`, async () => {
      const expected = await runOn('cpu', () => filterGrad(c, 7));
      const actual = await runOn('wasm', () => filterGrad(c, 7));
      assert.ok(relativeError(actual, expected) < 1e-4, `relative error ${relativeError(actual, expected)}`);
    });
  }

  it('gives bit-identical results when run again', async () => {
    const c = CASES[0]!;
    const first = await runOn('wasm', () => filterGrad(c, 11));
    const other = await runOn('wasm', () => filterGrad(CASES[1]!, 3));
    const second = await runOn('wasm', () => filterGrad(c, 11));
    assert.ok(other.length > 0);
    assert.ok(bitIdentical(first, second));
  });

  it('lets tf.grads differentiate conv2d with respect to its filter', async () => {
    await useBackend('wasm');
    const x = tf.tensor(randomValues(2 * 6 * 6 * 3, 5), [2, 6, 6, 3]) as tf.Tensor4D;
    const w = tf.tensor(randomValues(3 * 3 * 3 * 4, 6), [3, 3, 3, 4]) as tf.Tensor4D;
    const [dw] = tf.grads((f: tf.Tensor) => tf.conv2d(x, f as tf.Tensor4D, 1, 'same').square().sum())([w]);
    assert.deepEqual(dw?.shape, [3, 3, 3, 4]);
    tf.dispose([x, w, dw]);
  });
});
