import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { CIFAR10_CLASSES, RECORD_BYTES, readCifarBatch } from '../../src/data/cifar-format.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { options, tempDir } from './fixtures.js';

test('the synthetic source writes the real layout once and reads it back through the reader', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const synthetic = { trainSize: 52, valSize: 20, seed: 9 };
  const data = await loadDatasets(options(dir, { source: 'synthetic', synthetic }));

  const batches = join(dir, 'synthetic-9-52-20', 'cifar-10-batches-bin');
  assert.equal(data.sourceDir, batches);
  assert.deepEqual((await readdir(batches)).sort(), [
    'batches.meta.txt',
    'data_batch_1.bin',
    'data_batch_2.bin',
    'data_batch_3.bin',
    'data_batch_4.bin',
    'data_batch_5.bin',
    'test_batch.bin',
  ]);
  const sizes = await Promise.all([1, 2, 3, 4, 5].map(async (i) => (await stat(join(batches, `data_batch_${i}.bin`))).size / RECORD_BYTES));
  assert.deepEqual(sizes, [11, 11, 10, 10, 10]);
  assert.deepEqual((await readFile(join(batches, 'batches.meta.txt'), 'utf8')).trim().split('\n'), [...CIFAR10_CLASSES]);

  const expected = generateSynthetic(52, 9);
  assert.equal(data.train.count, 52);
  assert.deepEqual(data.train.images, expected.images);
  assert.deepEqual(data.train.labels, expected.labels);
  assert.equal(data.val.count, 20);
  assert.deepEqual(data.val.images, (await readCifarBatch(join(batches, 'test_batch.bin'))).images);
  assert.notDeepEqual(data.val.images, generateSynthetic(20, 9).images, 'val is not the first train images again');

  // A second load reuses the files on disk.
  const mtime = (await stat(join(batches, 'data_batch_1.bin'))).mtimeMs;
  const again = await loadDatasets(options(dir, { source: 'synthetic', synthetic, classes: ['cat', 'dog'] }));
  assert.equal((await stat(join(batches, 'data_batch_1.bin'))).mtimeMs, mtime);
  assert.ok(again.train.count > 0 && Array.from(again.train.labels).every((l) => l === 0 || l === 1));
  assert.deepEqual((await readdir(join(dir, 'synthetic-9-52-20'))), ['cifar-10-batches-bin'], 'no temp folders left');
});
