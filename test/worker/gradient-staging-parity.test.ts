import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import * as tf from '../../src/worker/tf.js';
import type { Dataset } from '../../src/data/cifar-format.js';
import { type Normalization } from '../../src/data/normalize.js';
import { MicroBatchComputer, type BatchStats } from '../../src/worker/gradient.js';
import { NUM_OUTPUTS, getModel, initParams, paramTensors, type ModelSpec } from '../../src/worker/model.js';
import { NORMALIZATIONS, everyByteDataset, firstBitDifference, oddIndices, referenceImages } from './input-fixtures.js';
import { useBackend } from './kernels/reference.js';
import { readKernelSwitches } from '../../src/worker/kernels/wasm-heap.js';

/** MicroBatchComputer.gradient without the wasm kernel or staging: normalizeBatch in JavaScript, then tf.tensor4d. */
function previousGradient(model: ModelSpec, norm: Normalization, weights: Float32Array, data: Dataset, indices: ArrayLike<number>): { out: Float32Array; stats: BatchStats } {
  const n = indices.length;
  const out = new Float32Array(model.size);
  const x = tf.tensor4d(referenceImages(data, indices, norm), [n, 32, 32, 3]);
  const y = tf.tensor1d(Int32Array.from(indices, (i) => data.labels[i] as number), 'int32');
  const params = paramTensors(model, weights);
  let correctT: tf.Tensor | undefined;
  const { value, grads } = tf.valueAndGrads((...ws: tf.Tensor[]) => {
    const logits = model.forward(ws, x);
    correctT = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32')));
    return tf.neg(tf.sum(tf.mul(tf.oneHot(y, NUM_OUTPUTS), tf.logSoftmax(logits)))) as tf.Scalar;
  })(params);
  model.params.forEach((spec, i) => out.set((grads[i] as tf.Tensor).dataSync() as Float32Array, spec.offset));
  const stats = { lossSum: value.dataSync()[0] as number, correct: (correctT as tf.Tensor).dataSync()[0] as number, count: n };
  tf.dispose([value, ...grads, x, y, ...params, correctT as tf.Tensor]);
  return { out, stats };
}

function gradientOf(c: MicroBatchComputer, weights: Float32Array, data: Dataset, indices: ArrayLike<number>): { out: Float32Array; stats: BatchStats } {
  const out = new Float32Array(c.model.size);
  const stats = c.gradient(weights, data, indices, out);
  return { out, stats };
}

function assertSame(actual: { out: Float32Array; stats: BatchStats }, expected: { out: Float32Array; stats: BatchStats }, what: string): void {
  assert.equal(firstBitDifference(actual.out, expected.out), -1, `${what}: gradient bits`);
  assert.deepEqual(actual.stats, expected.stats, `${what}: stats`);
}

const model = getModel('net');
const weights = initParams(model, 5);
const data = everyByteDataset(50);

describe('MicroBatchComputer input: staged or not, wasm kernel or JS table', () => {
  afterEach(() => {
    delete process.env['TRAINER_WASM_SIMD'];
    readKernelSwitches();
  });

  for (const [backend, simd] of [['wasm', '1'], ['wasm', '0'], ['cpu', '1']] as const) {
    it(`gives gradients bit-identical to the previous implementation, with and without staging (${backend}, TRAINER_WASM_SIMD=${simd})`, async () => {
      await useBackend(backend);
      if (simd === '0') process.env['TRAINER_WASM_SIMD'] = '0';
      readKernelSwitches();
      // The cpu backend is slow: one small case there (it only checks the JS path off wasm).
      const norms = backend === 'cpu' ? [NORMALIZATIONS[0]!] : [NORMALIZATIONS[0]!, NORMALIZATIONS[4]!];
      for (const norm of norms) {
        const c = new MicroBatchComputer(model, norm, 16);
        for (const n of backend === 'cpu' ? [5] : [7, 16, 21]) {
          const indices = oddIndices(data.count, n);
          const expected = previousGradient(model, norm, weights, data, indices);
          assertSame(gradientOf(c, weights, data, indices), expected, `n ${n} unstaged`);
          c.stage(data, indices);
          assertSame(gradientOf(c, weights, data, Array.from(indices)), expected, `n ${n} staged`);
        }
      }
    });
  }

  it('uses a staged input only for the same dataset object and the same indices', async () => {
    await useBackend('wasm');
    const c = new MicroBatchComputer(model, NORMALIZATIONS[0]!);
    const a = oddIndices(data.count, 9);
    const b = a.slice();
    b[4] = (b[4]! + 1) % data.count;
    const twin: Dataset = { images: data.images.slice(), labels: data.labels.slice(), count: data.count };
    twin.images.fill(200, 0, 3072 * 10);
    // Staged for `data` at `a`, then asked for something else: each answer must be its own.
    c.stage(data, a);
    assertSame(gradientOf(c, weights, data, b), previousGradient(model, c.norm, weights, data, b), 'other indices');
    c.stage(data, a);
    assertSame(gradientOf(c, weights, twin, a), previousGradient(model, c.norm, weights, twin, a), 'other dataset object');
    c.stage(data, a);
    assertSame(gradientOf(c, weights, data, a.subarray(0, 8)), previousGradient(model, c.norm, weights, data, a.subarray(0, 8)), 'a prefix');
    // The staged indices were copied: changing the caller's array afterwards is a different batch.
    const mutable = a.slice();
    c.stage(data, mutable);
    mutable[0] = b[4]!;
    assertSame(gradientOf(c, weights, data, mutable), previousGradient(model, c.norm, weights, data, mutable), 'indices changed after stage');
    // evaluate() takes a staged input as gradient() does.
    c.stage(data, a);
    const staged = c.evaluate(weights, data, a);
    assert.deepEqual(staged, c.evaluate(weights, data, a));
    assert.deepEqual(staged, previousGradient(model, c.norm, weights, data, a).stats);
  });
});
