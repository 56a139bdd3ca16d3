import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/worker/tf.js';
import { wasmKind } from '../../../src/worker/backend.js';
import { TANH_ALPHA, TANH_BETA, TANH_CLAMP, TANH_TINY } from '../../../src/worker/kernels/simd-module.js';
import { bitIdentical, fmaf, maxAbsDiff, randomValues, runOn } from './reference.js';

/** The kernel's arithmetic in float32, step by step: each Horner step a multiply-add (fused or not). */
function referenceTanh(x: number, fused: boolean): number {
  const f = Math.fround;
  const madd = (a: number, b: number, c: number): number => (fused ? fmaf(a, b, f(c)) : f(f(a * b) + f(c)));
  const xc = Math.max(Math.min(x, f(TANH_CLAMP)), f(-TANH_CLAMP));
  const x2 = f(xc * xc);
  let p = madd(x2, f(TANH_ALPHA[6]!), TANH_ALPHA[5]!);
  for (let i = 4; i >= 0; i--) p = madd(p, x2, TANH_ALPHA[i]!);
  let q = madd(x2, f(TANH_BETA[3]!), TANH_BETA[2]!);
  for (let i = 1; i >= 0; i--) q = madd(q, x2, TANH_BETA[i]!);
  return Math.abs(x) < f(TANH_TINY) ? x : f(f(p * xc) / q);
}

function inputs(): Float32Array {
  const special = [0, -0, 1e-8, -1e-8, 0.0003999, 0.0004, -0.0004001, 0.5, -1, 3, 7.9, 7.95, -8, 9, 20, -20, 1e30, -1e30, Infinity, -Infinity];
  const ramp = Array.from({ length: 4001 }, (_, i) => -10 + i * 0.005);
  // 4 * 1037 + special + ramp: a length that is not a multiple of 4 exercises the scalar tail.
  return new Float32Array([...special, ...ramp, ...randomValues(4 * 1037 + 1, 3, 6)]);
}

describe('Tanh on wasm', () => {
  it('matches Math.tanh (cpu backend) within 1e-5 absolute', async () => {
    const values = inputs();
    const expected = await runOn('cpu', () => tf.tanh(tf.tensor1d(values)));
    const actual = await runOn('wasm', () => tf.tanh(tf.tensor1d(values)));
    assert.ok(maxAbsDiff(actual, expected) < 1e-5, `max abs diff ${maxAbsDiff(actual, expected)}`);
  });

  it("is the rational approximation in float32, fused where the backend's kind says so, bit for bit (vector and tail)", async () => {
    const values = inputs();
    const actual = await runOn('wasm', () => tf.tanh(tf.tensor1d(values)));
    const fused = wasmKind() === 'wasm';
    const expected = Float32Array.from(values, (x) => referenceTanh(x, fused));
    assert.ok(bitIdentical(actual, expected), fused ? 'fused' : 'plain');
    assert.ok(!bitIdentical(actual, Float32Array.from(values, (x) => referenceTanh(x, !fused))), 'the other rounding differs somewhere');
  });

  it('keeps NaN as NaN and -0 as -0', async () => {
    const actual = await runOn('wasm', () => tf.tanh(tf.tensor1d([NaN, -0, 0, NaN, -0])));
    assert.ok(Number.isNaN(actual[0]) && Number.isNaN(actual[3]));
    assert.ok(Object.is(actual[1], -0) && Object.is(actual[4], -0) && Object.is(actual[2], 0));
  });

  it('gives bit-identical results when run again, wherever the value sits in the tensor', async () => {
    const values = inputs();
    const first = await runOn('wasm', () => tf.tanh(tf.tensor1d(values)));
    const second = await runOn('wasm', () => tf.tanh(tf.tensor1d(values)));
    assert.ok(bitIdentical(first, second));
    // the last element goes through the scalar tail; alone it goes through the vector path
    const last = values[values.length - 1]!;
    const alone = await runOn('wasm', () => tf.tanh(tf.tensor1d([last, last, last, last])));
    assert.equal(alone[0], first[first.length - 1]);
  });

  it('gives the same gradient as the cpu backend', async () => {
    const values = randomValues(64 * 3, 9, 3);
    const grad = (): tf.Tensor => tf.grad((x: tf.Tensor) => tf.tanh(x).mul(tf.range(0, 64 * 3).reshape([64, 3])).sum())(tf.tensor2d(values, [64, 3]));
    const expected = await runOn('cpu', grad);
    const actual = await runOn('wasm', grad);
    assert.ok(maxAbsDiff(actual, expected) < 1e-5 * 192, `max abs diff ${maxAbsDiff(actual, expected)}`);
  });
});
