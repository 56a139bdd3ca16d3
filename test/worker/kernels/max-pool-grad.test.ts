import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/worker/tf.js';
import { bitIdentical, randomValues, relativeError, runOn } from './reference.js';

type Case = {
  name: string;
  x: [number, number, number, number];
  size: number;
  stride: number;
  pad: 'same' | 'valid';
  /** Rounds inputs to a few levels so that windows contain ties. */
  levels?: number;
};

const CASES: Case[] = [
  { name: 'first model pool (2x2/2 on 32x32x16)', x: [2, 32, 32, 16], size: 2, stride: 2, pad: 'valid' },
  { name: 'second model pool (2x2/2 on 16x16x8)', x: [2, 16, 16, 8], size: 2, stride: 2, pad: 'valid' },
  { name: 'ties: first maximum in row-major order wins', x: [2, 8, 8, 8], size: 2, stride: 2, pad: 'valid', levels: 2 },
  { name: 'odd image, same padding', x: [2, 7, 9, 4], size: 2, stride: 2, pad: 'same' },
  { name: 'channels not a multiple of 4', x: [2, 8, 6, 3], size: 2, stride: 2, pad: 'valid', levels: 3 },
  { name: 'overlapping 3x3 stride 2 windows', x: [2, 9, 9, 4], size: 3, stride: 2, pad: 'same', levels: 4 },
];

function inputValues(c: Case): Float32Array {
  const v = randomValues(tf.util.sizeFromShape(c.x), 21);
  if (c.levels !== undefined) for (let i = 0; i < v.length; i++) v[i] = Math.round(v[i]! * c.levels);
  return v;
}

function poolGrad(c: Case, xv: Float32Array): tf.Tensor {
  return tf.tidy(() => {
    const x = tf.tensor(xv, c.x);
    const mult = tf.tensor(randomValues(tf.util.sizeFromShape(c.x) / 2, 5), [tf.util.sizeFromShape(c.x) / 2]);
    return tf.grad((t: tf.Tensor) => {
      const y = tf.maxPool(t as tf.Tensor4D, c.size, c.stride, c.pad).reshape([-1]);
      return y.mul(mult.slice(0, y.size)).sum();
    })(x);
  });
}

describe('MaxPoolGrad on wasm', () => {
  for (const c of CASES) {
    it(`matches the cpu backend: ${c.name}`, async () => {
      const xv = inputValues(c);
      const expected = await runOn('cpu', () => poolGrad(c, xv));
      const actual = await runOn('wasm', () => poolGrad(c, xv));
      assert.ok(relativeError(actual, expected) < 1e-6, `relative error ${relativeError(actual, expected)}`);
    });
  }

  it('sends the gradient to the maximum of an all-negative window (stock wasm 4.22 sends it to the first element)', async () => {
    const windows = [-3, -2, -1, -4, -1, 0, -2, -3]; // two 2x2 windows
    const toMax = [0, 0, 1, 0, 0, 1, 0, 0];
    const grad = (channels: number) => (): tf.Tensor =>
      tf.tidy(() => {
        const x = tf.tensor(windows.flatMap((v) => new Array<number>(channels).fill(v)), [2, 2, 2, channels]);
        return tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid').sum())(x);
      });
    // 4 channels take the SIMD path, 1 the JS path.
    assert.deepEqual(Array.from(await runOn('wasm', grad(4))), toMax.flatMap((v) => [v, v, v, v]));
    assert.deepEqual(Array.from(await runOn('wasm', grad(1))), toMax);
  });

  it('sends no gradient out of an all-NaN window, like the cpu backend', async () => {
    const c: Case = { name: 'nan', x: [1, 4, 4, 4], size: 2, stride: 2, pad: 'valid' };
    const xv = inputValues(c);
    for (const i of [0, 4, 16, 20, 1, 21]) xv[i] = NaN; // channel 0 of window (0,0); channel 1 partly
    const expected = await runOn('cpu', () => poolGrad(c, xv));
    const actual = await runOn('wasm', () => poolGrad(c, xv));
    assert.ok(bitIdentical(actual, expected));
  });

  it('picks the element a strict > scan from -Infinity keeps, for windows of -Infinity, NaN, -0 and +0', async () => {
    // Each row: a 2x2 window in row-major order, and the element that gets its gradient (-1: none).
    const windows: [number[], number][] = [
      [[-Infinity, -Infinity, -Infinity, -Infinity], -1],
      [[NaN, -Infinity, NaN, -Infinity], -1],
      [[NaN, NaN, NaN, NaN], -1],
      [[-Infinity, -Infinity, 5, 5], 2],
      [[-0, 0, 0, -0], 0],
      [[0, -0, -1, 0], 0],
      [[-1, NaN, -0, 0], 2],
      [[-Infinity, -1, -Infinity, -1], 1],
      [[NaN, NaN, NaN, 7], 3],
      [[-2, -Infinity, -2, NaN], 0],
    ];
    const grad = (channels: number) => (): tf.Tensor =>
      tf.tidy(() => {
        // One 2x2 image per window; every channel holds the same window.
        const values = windows.flatMap(([w]) => w.flatMap((v) => new Array<number>(channels).fill(v)));
        const x = tf.tensor(values, [windows.length, 2, 2, channels]);
        return tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid').sum())(x);
      });
    const expected = (channels: number): number[] =>
      windows.flatMap(([, at]) => [0, 1, 2, 3].flatMap((k) => new Array<number>(channels).fill(k === at ? 1 : 0)));
    // 8 channels take the SIMD path (two vectors), 1 the JS path; the cpu backend agrees with both.
    for (const channels of [8, 1]) {
      assert.deepEqual(Array.from(await runOn('wasm', grad(channels))), expected(channels), `${channels} channel(s)`);
      assert.deepEqual(Array.from(await runOn('cpu', grad(channels))), expected(channels), `cpu, ${channels} channel(s)`);
    }
  });

  it('gives bit-identical results when run again', async () => {
    const c = CASES[0]!;
    const xv = inputValues(c);
    const first = await runOn('wasm', () => poolGrad(c, xv));
    const second = await runOn('wasm', () => poolGrad(c, xv));
    assert.ok(bitIdentical(first, second));
  });
});
