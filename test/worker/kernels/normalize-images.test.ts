import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/worker/tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { normalizationTable } from '../../../src/data/normalize.js';
import { isTrainerError } from '../../../src/shared/errors.js';
import { normalizedImagesOnWasm } from '../../../src/worker/kernels/normalize-images.js';
import { NORMALIZATIONS, everyByteDataset, firstBitDifference, oddIndices, referenceImages } from '../input-fixtures.js';
import { useBackend } from './reference.js';
import { readKernelSwitches } from '../../../src/worker/kernels/wasm-heap.js';

function onWasm(...args: Parameters<typeof normalizedImagesOnWasm>): Float32Array {
  const x = normalizedImagesOnWasm(...args);
  assert.ok(x !== null, 'the kernel runs on the wasm backend');
  assert.deepEqual(x.shape, [args[1].length, 32, 32, 3]);
  assert.equal(x.dtype, 'float32');
  const values = new Float32Array(x.dataSync());
  x.dispose();
  return values;
}

describe('normalizeImages on wasm', () => {
  afterEach(() => {
    delete process.env['TRAINER_WASM_SIMD'];
    readKernelSwitches();
  });

  it('writes exactly what normalizeBatch writes, for every byte value on every channel, in any index order', async () => {
    await useBackend('wasm');
    const d = everyByteDataset(80);
    assert.ok(d.images.buffer instanceof SharedArrayBuffer);
    for (const norm of NORMALIZATIONS) {
      const table = normalizationTable(norm);
      // 70 images is more than any batch before it: the scratch area grows.
      for (const n of [1, 7, 32, 64, 70, 3]) {
        const indices = oddIndices(d.count, n);
        assert.equal(firstBitDifference(onWasm(d, indices, table), referenceImages(d, indices, norm)), -1, `n ${n}, mean ${norm.mean}`);
      }
    }
  });

  it('reads a dataset at any byte offset of its buffer, and plain arrays of indices', async () => {
    await useBackend('wasm');
    const whole = everyByteDataset(9);
    const shifted = new Uint8Array(whole.images.length + 1);
    shifted.set(whole.images, 1);
    const d = { images: shifted.subarray(1), labels: whole.labels, count: whole.count };
    const table = normalizationTable(NORMALIZATIONS[2]!);
    const indices = [8, 0, 1, 2, 2, 5];
    assert.equal(firstBitDifference(onWasm(d, indices, table), referenceImages(whole, indices, NORMALIZATIONS[2]!)), -1);
  });

  it('allocates nothing but its output once warm: no other tensor, no heap growth', async () => {
    await useBackend('wasm');
    const d = everyByteDataset(64);
    const table = normalizationTable(NORMALIZATIONS[0]!);
    const heap = (tf.backend() as BackendWasm).wasm as unknown as { HEAPU8: Uint8Array };
    tf.dispose(normalizedImagesOnWasm(d, oddIndices(d.count, 64), table) ?? []);
    const tensors = tf.memory().numTensors;
    const heapBytes = heap.HEAPU8.length;
    for (let i = 0; i < 200; i++) {
      const x = normalizedImagesOnWasm(d, oddIndices(d.count, 1 + (i % 64)), table);
      assert.equal(tf.memory().numTensors, tensors + 1);
      x?.dispose();
    }
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(heap.HEAPU8.length, heapBytes);
  });

  it('rejects an index outside the set with E_INTERNAL, before making a tensor', async () => {
    await useBackend('wasm');
    const d = everyByteDataset(4);
    const table = normalizationTable(NORMALIZATIONS[0]!);
    const tensors = tf.memory().numTensors;
    for (const bad of [[0, 4], [-1], [1.5]]) {
      assert.throws(() => normalizedImagesOnWasm(d, bad, table), (err) => isTrainerError(err, 'E_INTERNAL'), String(bad));
    }
    assert.equal(tf.memory().numTensors, tensors);
  });

  it('gives way (null) on another backend and with TRAINER_WASM_SIMD=0', async () => {
    const d = everyByteDataset(2);
    const table = normalizationTable(NORMALIZATIONS[0]!);
    await useBackend('cpu');
    assert.equal(normalizedImagesOnWasm(d, [0, 1], table), null);
    await useBackend('wasm');
    process.env['TRAINER_WASM_SIMD'] = '0';
    readKernelSwitches();
    assert.equal(normalizedImagesOnWasm(d, [0, 1], table), null);
  });
});
