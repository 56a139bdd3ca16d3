import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { options, tempDir, writeBatches } from './fixtures.js';

test('an unknown class name is E_DATA naming it and listing the valid names', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await writeBatches(dir, [[0], [], [], [], []], [0]);

  await assert.rejects(loadDatasets(options(dir, { classes: ['airplane', 'spaceship'] })), (err) => {
    assert.ok(isTrainerError(err, 'E_DATA'));
    assert.match(err.message, /'spaceship'/);
    assert.match(err.message, /airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck/);
    return true;
  });
});

test('an empty or repeated class list is E_DATA', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await writeBatches(dir, [[0], [], [], [], []], [0]);
  await assert.rejects(loadDatasets(options(dir, { classes: [] })), (err) => isTrainerError(err, 'E_DATA'));
  await assert.rejects(loadDatasets(options(dir, { classes: ['cat', 'dog', 'cat'] })), (err) => {
    assert.ok(isTrainerError(err, 'E_DATA'));
    assert.match(err.message, /'cat' is listed twice/);
    return true;
  });
});

test('a bad class name fails before any download is attempted', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  // Nothing on disk and an unreachable URL: the class error must come first.
  const opts = options(dir, { download: true, url: 'http://127.0.0.1:1/x.tar.gz', classes: ['dragon'] });
  await assert.rejects(loadDatasets(opts), (err) => isTrainerError(err, 'E_DATA') && /dragon/.test(err.message));
});
