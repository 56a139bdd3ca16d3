import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { options, tempDir } from './fixtures.js';

test('no data and download false is E_DATA naming the folder, the URL and both ways out', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const dataDir = join(dir, 'nothing-here');
  await assert.rejects(loadDatasets(options(dataDir)), (err) => {
    assert.ok(isTrainerError(err, 'E_DATA'));
    assert.ok(err.message.includes(dataDir), err.message);
    assert.ok(err.message.includes('https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'), err.message);
    assert.match(err.message, /--data\.download true/);
    assert.match(err.message, /--data\.source synthetic/);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
});
