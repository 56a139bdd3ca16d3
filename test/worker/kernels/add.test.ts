import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/worker/tf.js';
import { bitIdentical, randomValues, runOn } from './reference.js';

type Case = { name: string; a: number[]; b: number[] };

const CASES: Case[] = [
  { name: 'conv bias', a: [4, 32, 32, 16], b: [16] },
  { name: 'dense bias', a: [64, 32], b: [32] },
  { name: 'bias first', a: [8], b: [5, 3, 8] },
  { name: 'bias with leading ones', a: [2, 3, 4, 12], b: [1, 1, 12] },
  { name: 'channels not a multiple of 4 (stock kernel)', a: [64, 10], b: [10] },
  { name: 'same shapes (stock kernel)', a: [6, 8], b: [6, 8] },
  { name: 'column broadcast (stock kernel)', a: [6, 8], b: [6, 1] },
];

function add(c: Case): tf.Tensor {
  return tf.tidy(() =>
    tf.add(tf.tensor(randomValues(tf.util.sizeFromShape(c.a), 1), c.a), tf.tensor(randomValues(tf.util.sizeFromShape(c.b), 2), c.b)),
  );
}

describe('Add on wasm', () => {
  for (const c of CASES) {
    it(`matches the cpu backend bit for bit: ${c.name}`, async () => {
      const expected = await runOn('cpu', () => add(c));
      const actual = await runOn('wasm', () => add(c));
      assert.ok(bitIdentical(actual, expected));
    });
  }

  it('keeps the broadcast shape', async () => {
    await runOn('wasm', () => tf.scalar(0));
    const out = tf.add(tf.ones([8]), tf.ones([5, 3, 8]));
    assert.deepEqual(out.shape, [5, 3, 8]);
    out.dispose();
  });
});
