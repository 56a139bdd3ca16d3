import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/worker/tf.js';
import { bitIdentical, randomValues, relativeError, runOn } from './reference.js';

type Case = {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.ExplicitPadding;
};

const CASES: Case[] = [
  { name: 'second model conv (16->8, same)', x: [3, 16, 16, 16], filter: [3, 3, 16, 8], strides: 1, pad: 'same' },
  { name: 'first model conv (3->16, same)', x: [2, 32, 32, 3], filter: [3, 3, 3, 16], strides: 1, pad: 'same' },
  { name: 'valid, stride 1', x: [2, 10, 10, 4], filter: [3, 3, 4, 6], strides: 1, pad: 'valid' },
  { name: 'non-square image and filter, same', x: [2, 9, 14, 5], filter: [2, 4, 5, 7], strides: 1, pad: 'same' },
  { name: 'numeric pad', x: [2, 8, 8, 2], filter: [3, 3, 2, 4], strides: 1, pad: 1 },
  { name: 'explicit pad', x: [2, 8, 7, 2], filter: [3, 2, 2, 3], strides: 1, pad: [[0, 0], [2, 0], [1, 0], [0, 0]] },
  { name: 'stride 2 (stock kernel)', x: [2, 11, 12, 3], filter: [3, 3, 3, 5], strides: 2, pad: 'same' },
];

function inputGrad(c: Case): tf.Tensor {
  const convInfo = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
  const w = tf.tensor(randomValues(tf.util.sizeFromShape(c.filter), 3), c.filter);
  const dy = tf.tensor(randomValues(tf.util.sizeFromShape(convInfo.outShape), 4), convInfo.outShape);
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x };
  const out = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, attrs as unknown as tf.NamedAttrMap);
  tf.dispose([w, dy]);
  return out as tf.Tensor;
}

describe('Conv2DBackpropInput on wasm', () => {
  for (const c of CASES) {
    it(`matches the cpu backend: ${c.name}`, async () => {
      const expected = await runOn('cpu', () => inputGrad(c));
      const actual = await runOn('wasm', () => inputGrad(c));
      assert.ok(relativeError(actual, expected) < 1e-4, `relative error ${relativeError(actual, expected)}`);
    });
  }

  it('gives bit-identical results when run again', async () => {
    const first = await runOn('wasm', () => inputGrad(CASES[0]!));
    await runOn('wasm', () => inputGrad(CASES[3]!));
    const second = await runOn('wasm', () => inputGrad(CASES[0]!));
    assert.ok(bitIdentical(first, second));
  });

  it('leaves no tensor data behind', async () => {
    await runOn('wasm', () => inputGrad(CASES[0]!));
    const before = tf.engine().backend.numDataIds();
    await runOn('wasm', () => inputGrad(CASES[0]!));
    assert.equal(tf.engine().backend.numDataIds(), before);
  });
});
