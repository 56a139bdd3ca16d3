import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { CIFAR10_CLASSES, IMAGE_BYTES } from '../../src/data/cifar-format.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { options, patterned, tempDir, writeBatches } from './fixtures.js';

test('train is data_batch_1..5 concatenated in order, val is test_batch', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const train = [[0, 1], [2], [3, 4, 5], [6], [9]];
  await writeBatches(dir, train, [8, 7]);

  const data = await loadDatasets(options(dir));
  assert.deepEqual(Array.from(data.train.labels), [0, 1, 2, 3, 4, 5, 6, 9]);
  assert.equal(data.train.count, 8);
  const expected = new Uint8Array(8 * IMAGE_BYTES);
  let at = 0;
  train.forEach((labels, f) => {
    expected.set(patterned(labels, f + 1).images, at);
    at += labels.length * IMAGE_BYTES;
  });
  assert.deepEqual(data.train.images, expected);
  assert.deepEqual(Array.from(data.val.labels), [8, 7]);
  assert.deepEqual(data.val.images, patterned([8, 7], 0).images);
  assert.deepEqual(data.classNames, [...CIFAR10_CLASSES]);
  assert.equal(data.sourceDir, join(dir, 'cifar-10-batches-bin'));
});
