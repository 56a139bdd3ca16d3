import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { options, smallTarball, tempDir, writeBatches } from './fixtures.js';

test('a cifar-10-batches-bin/ lacking batch files beside a good archive is E_DATA naming the archive and saying to remove the folder; the folder is left as it is (it was "missing file …/data_batch_1.bin")', async (t) => {
  const { dir: work, cleanup } = await tempDir();
  t.after(cleanup);
  const archive = await smallTarball(work);
  const dataDir = join(work, 'data');
  const batches = join(dataDir, 'cifar-10-batches-bin');
  const tarball = join(dataDir, 'cifar-10-binary.tar.gz');
  await mkdir(dataDir);
  await copyFile(archive.file, tarball);
  const refused = async (lacks: string) => {
    const before = (await readdir(batches)).sort();
    await assert.rejects(loadDatasets(options(dataDir)), (err) => {
      assert.ok(isTrainerError(err, 'E_DATA'), String(err));
      assert.equal(err.message, `${batches} lacks ${lacks}, and the archive ${tarball} is beside it: remove or move that folder, and the next run extracts the archive`);
      return true;
    });
    assert.deepEqual((await readdir(batches)).sort(), before, 'the folder is the user\'s: nothing removed or added');
  };

  // A folder with only the class names in it.
  await mkdir(batches);
  await writeFile(join(batches, 'batches.meta.txt'), 'airplane\n');
  await refused('data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin, test_batch.bin');

  // Every file but the first training batch.
  await writeBatches(dataDir, [[1], [2], [3], [4], [5]], [0]);
  await rm(join(batches, 'data_batch_1.bin'));
  await refused('data_batch_1.bin');

  // Removed as the message says: the archive is extracted and loads.
  await rm(batches, { recursive: true });
  assert.equal((await loadDatasets(options(dataDir))).train.count, 30);
});

test('a complete cifar-10-batches-bin/ beside the archive is read as it is; one lacking files with no archive beside it is "missing file" as before', async (t) => {
  const { dir: work, cleanup } = await tempDir();
  t.after(cleanup);
  const archive = await smallTarball(work);
  const dataDir = join(work, 'data');
  await writeBatches(dataDir, [[1], [2], [3], [4], [5]], [0]);
  await copyFile(archive.file, join(dataDir, 'cifar-10-binary.tar.gz'));
  assert.equal((await loadDatasets(options(dataDir))).train.count, 5, 'the folder, not the archive (30 images)');

  await rm(join(dataDir, 'cifar-10-binary.tar.gz'));
  await rm(join(dataDir, 'cifar-10-batches-bin', 'data_batch_1.bin'));
  await assert.rejects(loadDatasets(options(dataDir)), (err) => {
    assert.ok(isTrainerError(err, 'E_DATA'), String(err));
    assert.equal(err.message, `missing file ${join(dataDir, 'cifar-10-batches-bin', 'data_batch_1.bin')}`);
    return true;
  });
});
