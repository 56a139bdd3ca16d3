import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '../../src/worker/tf.js';
import { MicroBatchComputer } from '../../src/worker/gradient.js';
import { getModel, initParams } from '../../src/worker/model.js';
import { productFromFloats, transposedProductInto } from '../../src/worker/kernels/batch-mat-mul.js';
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
    // Evaluation at a version whose gradient made no first-weight tensor makes it then.
    const version = { version: 9, flat };
    direct.gradient(version, data, oddIndices(data.count, 16), new Float32Array(model.size));
    const fresh = new MicroBatchComputer(model, NORMALIZATIONS[0]!);
    assert.deepEqual(direct.evaluate(version, data, oddIndices(data.count, 20)), fresh.evaluate(flat, data, oddIndices(data.count, 20)));
    direct.dropWeights();
    taped.dropWeights();
  });

  it('multiplies by weights streamed from a plain array panel by panel with the bits of BatchMatMul on a tensor', async () => {
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    // [16, 200] x [200, 1024]: panels of 48 rows (rows 4 KB apart) and a last one of 8; [5, 1000] x [1000, 300]: panels of 436.
    for (const [m, inner, n] of [[16, 200, 1024], [5, 1000, 300]] as const) {
      const x = tf.randomNormal([m, inner], 0, 1, 'float32', 3);
      const w = tf.randomNormal([inner, n], 0, 1, 'float32', 4);
      const expected = tf.matMul(x, w);
      const actual = productFromFloats(x, w.dataSync() as Float32Array, n);
      assert.ok(actual !== null);
      assert.deepEqual(actual.shape, [m, n]);
      assert.equal(firstBitDifference(actual.dataSync() as Float32Array, expected.dataSync() as Float32Array), -1, `[${m}, ${inner}] x [${inner}, ${n}]`);
      assert.throws(() => productFromFloats(x, new Float32Array(7), n), /not a/);
      tf.dispose([x, w, expected, actual]);
    }
    assert.equal(tf.memory().numTensors, before);
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
