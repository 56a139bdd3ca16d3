import assert from 'node:assert/strict';
import { mkdir, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { options, tempDir, writeBatches } from './fixtures.js';

test('data.path given as cifar-10-batches-bin/ itself is E_DATA naming the folder to give, before any download (it was "no CIFAR-10 data in DIR: put cifar-10-batches-bin/ there")', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await writeBatches(dir, [[1], [2], [3], [4], [5]], [0]);
  const batches = join(dir, 'cifar-10-batches-bin');
  const before = await readdir(batches);
  for (const download of [false, true]) {
    // With download, a URL nothing listens on: refused before it is tried, nothing written into the folder.
    await assert.rejects(loadDatasets(options(batches, { download, url: 'http://127.0.0.1:9/x' })), (err) => {
      assert.ok(isTrainerError(err, 'E_DATA'), String(err));
      assert.equal(err.message, `${batches} is the extracted folder itself: data.path is the folder holding it, --data.path ${dir}`);
      return true;
    });
  }
  assert.deepEqual(await readdir(batches), before);
  // The folder it names is the one that loads.
  assert.equal((await loadDatasets(options(dir))).train.count, 5);
});

test('a data.path holding the batch files loose is E_DATA saying where they go', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await writeBatches(dir, [[1], [2], [3], [4], [5]], [0]);
  const loose = join(dir, 'cifar10');
  await rename(join(dir, 'cifar-10-batches-bin'), loose);
  await assert.rejects(loadDatasets(options(loose)), (err) => {
    assert.ok(isTrainerError(err, 'E_DATA'), String(err));
    assert.equal(err.message, `${loose} holds the batch files themselves: data.path is the folder holding them in cifar-10-batches-bin/ (move them to ${join(loose, 'cifar-10-batches-bin')})`);
    return true;
  });
});

test("no binary data but CIFAR-10's Python version: the message names it", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  await mkdir(join(dir, 'cifar-10-batches-py'));
  await assert.rejects(loadDatasets(options(dir)), (err) => {
    assert.ok(isTrainerError(err, 'E_DATA'), String(err));
    assert.ok(err.message.startsWith(`no CIFAR-10 data in ${dir} (cifar-10-batches-py there is CIFAR-10's Python version: trainer reads the binary version): put `), err.message);
    return true;
  });
});
