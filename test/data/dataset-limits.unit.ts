import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { firstBytes, options, patterned, tempDir, writeBatches } from './fixtures.js';

test('limitTrain and limitVal keep the first N records, after class selection', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file1 = [0, 1, 2, 3, 4];
  const file2 = [5, 6, 7, 8, 9];
  // Every batch file holds records (an empty one is E_DATA): one airplane (0) each in files 3-5.
  await writeBatches(dir, [file1, file2, [0], [0], [0]], [9, 8, 7, 6, 5, 4]);

  const plain = await loadDatasets(options(dir, { limitTrain: 7, limitVal: 2 }));
  assert.deepEqual(Array.from(plain.train.labels), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(firstBytes(plain.train), [...firstBytes(patterned(file1, 1)), ...firstBytes(patterned(file2, 2)).slice(0, 2)]);
  assert.deepEqual(Array.from(plain.val.labels), [9, 8]);

  const selected = await loadDatasets(options(dir, { classes: ['truck', 'bird', 'horse'], limitTrain: 2, limitVal: 1 }));
  assert.deepEqual(Array.from(selected.train.labels), [1, 2]); // bird, horse; truck comes third
  assert.deepEqual(Array.from(selected.val.labels), [0]);

  const big = await loadDatasets(options(dir, { limitTrain: 1000, limitVal: 0 }));
  assert.equal(big.train.count, 13);
  assert.equal(big.val.count, 0);
});

test('a limit that is not a non-negative integer is E_DATA naming the key', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await assert.rejects(loadDatasets(options(dir, { limitTrain: -1 })), (err) => isTrainerError(err, 'E_DATA') && /data\.limitTrain/.test(err.message));
  await assert.rejects(loadDatasets(options(dir, { limitVal: 2.5 })), (err) => isTrainerError(err, 'E_DATA') && /data\.limitVal/.test(err.message));
});
