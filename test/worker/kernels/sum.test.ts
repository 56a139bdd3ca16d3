import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/worker/tf.js';
import { bitIdentical, randomValues, relativeError, runOn } from './reference.js';

type Case = { name: string; shape: number[]; axis: number | number[]; keepDims?: boolean };

const CASES: Case[] = [
  { name: 'bias gradient of the first conv', shape: [8, 32, 32, 16], axis: [0, 1, 2] },
  { name: 'bias gradient of a dense layer', shape: [64, 32], axis: 0 },
  { name: 'leading axes given out of order, keepDims', shape: [3, 5, 6], axis: [1, 0], keepDims: true },
  { name: 'odd number of columns (stock kernel)', shape: [4, 5, 3], axis: [0, 1] },
  { name: 'trailing axis (stock kernel)', shape: [6, 8], axis: -1 },
  { name: 'all axes (stock kernel)', shape: [6, 8], axis: [0, 1] },
];

function sum(c: Case): tf.Tensor {
  return tf.tidy(() => tf.sum(tf.tensor(randomValues(tf.util.sizeFromShape(c.shape), 13, 2), c.shape), c.axis, c.keepDims));
}

describe('Sum on wasm', () => {
  for (const c of CASES) {
    it(`matches the cpu backend: ${c.name}`, async () => {
      const expected = await runOn('cpu', () => sum(c));
      const actual = await runOn('wasm', () => sum(c));
      assert.deepEqual(await runOn('wasm', () => tf.tensor1d(sum(c).shape)), await runOn('cpu', () => tf.tensor1d(sum(c).shape)));
      assert.ok(relativeError(actual, expected) < 1e-6, `relative error ${relativeError(actual, expected)}`);
    });
  }

  it('gives bit-identical results when run again', async () => {
    const first = await runOn('wasm', () => sum(CASES[0]!));
    const second = await runOn('wasm', () => sum(CASES[0]!));
    assert.ok(bitIdentical(first, second));
  });
});
