import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { bitIdentical, randomValues, relativeError, runOn } from './reference.js';

type Case = { name: string; a: number[]; b: number[]; transposeA: boolean; transposeB: boolean };

const CASES: Case[] = [
  { name: 'dense weight gradient x^T dy', a: [64, 512], b: [64, 32], transposeA: true, transposeB: false },
  { name: 'dense input gradient dy W^T', a: [64, 32], b: [512, 32], transposeA: false, transposeB: true },
  { name: 'both transposed', a: [7, 5], b: [9, 7], transposeA: true, transposeB: true },
  { name: 'rank 3 with batch 1', a: [1, 6, 4], b: [1, 6, 3], transposeA: true, transposeB: false },
  { name: 'no transpose (stock kernel)', a: [64, 512], b: [512, 32], transposeA: false, transposeB: false },
  { name: 'batch of 3 (stock kernel)', a: [3, 6, 4], b: [3, 6, 5], transposeA: true, transposeB: false },
];

function matMul(c: Case): tf.Tensor {
  return tf.tidy(() =>
    tf.matMul(
      tf.tensor(randomValues(tf.util.sizeFromShape(c.a), 1), c.a),
      tf.tensor(randomValues(tf.util.sizeFromShape(c.b), 2), c.b),
      c.transposeA,
      c.transposeB,
    ),
  );
}

describe('BatchMatMul on wasm', () => {
  for (const c of CASES) {
    it(`matches the cpu backend: ${c.name}`, async () => {
      const expected = await runOn('cpu', () => matMul(c));
      const actual = await runOn('wasm', () => matMul(c));
      assert.ok(relativeError(actual, expected) < 1e-5, `relative error ${relativeError(actual, expected)}`);
    });
  }

  it('gives bit-identical results when run again and leaves no tensor data behind', async () => {
    const first = await runOn('wasm', () => matMul(CASES[0]!));
    const before = tf.engine().backend.numDataIds();
    const second = await runOn('wasm', () => matMul(CASES[0]!));
    assert.equal(tf.engine().backend.numDataIds(), before);
    assert.ok(bitIdentical(first, second));
  });
});
