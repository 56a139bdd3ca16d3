import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { BATCHES_DIR, TEST_BATCH_FILE, TRAIN_BATCH_FILES } from '../../src/data/cifar-format.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { options, tempDir, writeBatches } from './fixtures.js';

test('a 0-byte batch file of the dataset is E_DATA naming it, not 10,000 images fewer', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  for (const emptied of [TRAIN_BATCH_FILES[2] as string, TEST_BATCH_FILE]) {
    await writeBatches(dir, [[1, 2], [3], [4, 5], [6], [7]], [8, 9]);
    const file = join(dir, BATCHES_DIR, emptied);
    await writeFile(file, '');
    await assert.rejects(loadDatasets(options(dir)), (err) => {
      assert.ok(isTrainerError(err, 'E_DATA'), String(err));
      assert.equal(err.message, `${file} holds no records (0 bytes): a batch file of the dataset is empty`);
      return true;
    });
  }
});
