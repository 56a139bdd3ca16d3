import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDatasets } from '../../src/data/dataset.js';
import { firstBytes, options, patterned, tempDir, writeBatches } from './fixtures.js';

test('selected classes keep only their records, relabelled 0..k-1 in the order given', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  // airplane 0, automobile 1, bird 2, ship 8, truck 9
  const file1 = [8, 2, 0, 1, 9, 8];
  // Every batch file holds records (an empty one is E_DATA): deer (4) in files 2-4, selected by neither call.
  await writeBatches(dir, [file1, [4], [4], [4], [1, 3]], [9, 0, 8, 1, 5]);

  const data = await loadDatasets(options(dir, { classes: ['airplane', 'automobile', 'ship'] }));
  assert.deepEqual(data.classNames, ['airplane', 'automobile', 'ship']);
  assert.deepEqual(Array.from(data.train.labels), [2, 0, 1, 2, 1]);
  const f1 = firstBytes(patterned(file1, 1));
  const f5 = firstBytes(patterned([1, 3], 5));
  assert.deepEqual(firstBytes(data.train), [f1[0], f1[2], f1[3], f1[5], f5[0]]);
  assert.deepEqual(Array.from(data.val.labels), [0, 2, 1]);

  const reversed = await loadDatasets(options(dir, { classes: ['ship', 'airplane'] }));
  assert.deepEqual(reversed.classNames, ['ship', 'airplane']);
  assert.deepEqual(Array.from(reversed.train.labels), [0, 1, 0]);
  assert.deepEqual(Array.from(reversed.val.labels), [1, 0]);
});
