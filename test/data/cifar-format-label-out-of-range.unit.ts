import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { RECORD_BYTES, readCifarBatch, writeCifarBatch } from '../../src/data/cifar-format.js';
import { patterned, tempDir } from './fixtures.js';

test('a label byte above 9 is E_DATA naming the file and the record index', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'test_batch.bin');
  await writeCifarBatch(file, patterned([0, 1, 2, 3, 4]));
  const bytes = await readFile(file);
  bytes[3 * RECORD_BYTES] = 10;
  await writeFile(file, bytes);

  await assert.rejects(readCifarBatch(file), (err) => {
    assert.ok(isTrainerError(err, 'E_DATA'));
    assert.ok(err.message.includes(file), err.message);
    assert.match(err.message, /record 3\b/);
    assert.match(err.message, /label 10\b/);
    return true;
  });
});

test('writing a label above 9 is refused', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await assert.rejects(writeCifarBatch(join(dir, 'x.bin'), patterned([0, 12])), (err) => {
    assert.ok(isTrainerError(err, 'E_DATA'));
    assert.match(err.message, /record 1\b/);
    return true;
  });
});
