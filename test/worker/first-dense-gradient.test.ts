import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { MicroBatchComputer } from '../../src/worker/gradient.js';
import { getModel, initParams } from '../../src/worker/model.js';
import { transposedProductInto } from '../../src/worker/kernels/batch-mat-mul.js';
import { NORMALIZATIONS, everyByteDataset, firstBitDifference, oddIndices } from './input-fixtures.js';
import { useBackend } from './kernels/reference.js';

describe('the fc model first weight gradient formed outside the tape (ModelSpec.firstDense)', () => {
  it('has the bits of tfjs gradient of the whole network, at fresh and kept weights, for odd micro-batch sizes', async () => {
    await useBackend('wasm');
    const model = getModel('fc');
    assert.ok(model.firstDense);
    const data = everyByteDataset(40);
    const direct = new MicroBatchComputer(model, NORMALIZATIONS[0]!);
    const taped = new MicroBatchComputer(model, NORMALIZATIONS[0]!);
    taped.firstDenseInto = false;
    const flat = initParams(model, 5);
    for (const [k, n] of [[0, 16], [1, 5], [2, 1], [3, 33]] as const) {
      const indices = oddIndices(data.count, n);
      const weights = k % 2 === 0 ? flat : { version: k, flat };
      const a = new Float32Array(model.size).fill(NaN);
      const b = new Float32Array(model.size);
      const sa = direct.gradient(weights, data, indices, a);
      const sb = taped.gradient(weights, data, indices, b);
      assert.equal(firstBitDifference(a, b), -1, `${n} examples: gradient bits`);
      assert.deepEqual(sa, sb, `${n} examples: stats`);
    }
    direct.dropWeights();
    taped.dropWeights();
  });

  it('writes A^T B in chunks with the bits of BatchMatMul, and leaves no tensor behind', async () => {
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    // 300 rows of 700: chunks of 93 rows and a shorter last one.
    const a = tf.randomNormal([9, 300], 0, 1, 'float32', 1);
    const b = tf.randomNormal([9, 700], 0, 1, 'float32', 2);
    const expected = tf.matMul(a, b, true, false);
    const out = new Float32Array(3 + 300 * 700 + 2).fill(7);
    assert.equal(transposedProductInto(a, b, out, 3), true);
    assert.equal(firstBitDifference(out.subarray(3, 3 + 300 * 700), expected.dataSync() as Float32Array), -1);
    assert.deepEqual([...out.subarray(0, 3), ...out.subarray(3 + 300 * 700)], [7, 7, 7, 7, 7]);
    assert.throws(() => transposedProductInto(a, b, new Float32Array(10), 0), /do not fit/);
    tf.dispose([a, b, expected]);
    assert.equal(tf.memory().numTensors, before);
  });
});
