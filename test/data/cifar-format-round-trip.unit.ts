import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { RECORD_BYTES, readCifarBatch, writeCifarBatch } from '../../src/data/cifar-format.js';
import { patterned, tempDir } from './fixtures.js';

test('a batch written then read back has identical images and labels', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const data = patterned([3, 0, 9, 9, 1, 7]);
  const file = join(dir, 'data_batch_1.bin');
  await writeCifarBatch(file, data);

  const back = await readCifarBatch(file);
  assert.equal(back.count, 6);
  assert.deepEqual(back.labels, data.labels);
  assert.deepEqual(back.images, data.images);
});

test('the file is label byte then R, G, B planes, record after record', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const data = patterned([4, 2]);
  const file = join(dir, 'b.bin');
  await writeCifarBatch(file, data);

  const bytes = await readFile(file);
  assert.equal(bytes.length, 2 * RECORD_BYTES);
  assert.equal(bytes[0], 4);
  assert.equal(bytes[RECORD_BYTES], 2);
  assert.deepEqual(bytes.subarray(RECORD_BYTES + 1, 2 * RECORD_BYTES), Buffer.from(data.images.subarray(3072, 6144)));
});

test('an empty batch file is zero records, not an error', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'empty.bin');
  await writeCifarBatch(file, patterned([]));
  const back = await readCifarBatch(file);
  assert.equal(back.count, 0);
});
