import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { readCifarBatch, writeCifarBatch } from '../../src/data/cifar-format.js';
import { patterned, tempDir } from './fixtures.js';

test('a batch file that is not a whole number of records is E_DATA "truncated" naming the file', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'data_batch_2.bin');
  await writeCifarBatch(file, patterned([1, 2, 3]));
  const bytes = await readFile(file);
  await writeFile(file, bytes.subarray(0, bytes.length - 100));

  await assert.rejects(readCifarBatch(file), (err) => {
    assert.ok(isTrainerError(err, 'E_DATA'));
    assert.match(err.message, /truncated/);
    assert.ok(err.message.includes(file), err.message);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
});
