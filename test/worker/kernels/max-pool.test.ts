import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/worker/tf.js';
import { bitIdentical, randomValues, runOn } from './reference.js';

type Case = { name: string; x: [number, number, number, number]; size: number; stride: number; pad: 'same' | 'valid'; levels?: number };

const CASES: Case[] = [
  { name: 'first model pool (2x2/2 on 32x32x16)', x: [2, 32, 32, 16], size: 2, stride: 2, pad: 'valid' },
  { name: 'second model pool (2x2/2 on 16x16x8)', x: [2, 16, 16, 8], size: 2, stride: 2, pad: 'valid', levels: 2 },
  { name: 'odd image, same padding (stock kernel)', x: [2, 7, 9, 4], size: 2, stride: 2, pad: 'same' },
  { name: 'channels not a multiple of 4 (stock kernel)', x: [2, 8, 6, 3], size: 2, stride: 2, pad: 'valid' },
  { name: '3x3 stride 2 (stock kernel)', x: [2, 9, 9, 4], size: 3, stride: 2, pad: 'same' },
];

function inputValues(c: Case): Float32Array {
  const v = randomValues(tf.util.sizeFromShape(c.x), 17);
  if (c.levels !== undefined) for (let i = 0; i < v.length; i++) v[i] = Math.round(v[i]! * c.levels);
  return v;
}

const pool = (c: Case, xv: Float32Array) => (): tf.Tensor =>
  tf.tidy(() => tf.maxPool(tf.tensor(xv, c.x) as tf.Tensor4D, c.size, c.stride, c.pad));

describe('MaxPool on wasm', () => {
  for (const c of CASES) {
    it(`matches the cpu backend bit for bit: ${c.name}`, async () => {
      const xv = inputValues(c);
      assert.ok(bitIdentical(await runOn('wasm', pool(c, xv)), await runOn('cpu', pool(c, xv))));
    });
  }

  it('skips NaN like the cpu backend (an all-NaN window gives -Infinity)', async () => {
    const c: Case = { name: 'nan', x: [1, 2, 4, 4], size: 2, stride: 2, pad: 'valid' };
    const xv = inputValues(c);
    for (const i of [0, 4, 16, 20, 1, 21, 8]) xv[i] = NaN; // channel 0 of window 0 all NaN, others partly
    const actual = await runOn('wasm', pool(c, xv));
    assert.equal(actual[0], -Infinity);
    assert.ok(bitIdentical(actual, await runOn('cpu', pool(c, xv))));
  });
});
