import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { readCifarBatch } from '../../src/data/cifar-format.js';
import { tempDir } from './fixtures.js';

test('reading a missing batch file is E_DATA naming the file', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'data_batch_1.bin');
  await assert.rejects(readCifarBatch(file), (err) => {
    assert.ok(isTrainerError(err, 'E_DATA'));
    assert.match(err.message, /missing file/);
    assert.ok(err.message.includes(file), err.message);
    return true;
  });
});
