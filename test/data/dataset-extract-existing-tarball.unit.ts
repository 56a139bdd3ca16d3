import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { options, smallTarball, tempDir } from './fixtures.js';

test('an existing cifar-10-binary.tar.gz is extracted in place and loaded, without download', async (t) => {
  const { dir: work, cleanup } = await tempDir();
  t.after(cleanup);
  const tarball = await smallTarball(work);
  const dataDir = join(work, 'data');
  await mkdir(dataDir);
  await copyFile(tarball.file, join(dataDir, 'cifar-10-binary.tar.gz'));

  const data = await loadDatasets(options(dataDir, { download: false }));
  assert.equal(data.train.count, 30);
  assert.deepEqual(data.train.labels, generateSynthetic(30, 3).labels);
  assert.equal(data.val.count, 10);
  assert.deepEqual((await readdir(dataDir)).sort(), ['cifar-10-batches-bin', 'cifar-10-binary.tar.gz']);
});

test('a corrupt tarball is E_DATA naming it, and leaves no half-extracted folder', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const file = join(dir, 'cifar-10-binary.tar.gz');
  await writeFile(file, Buffer.from('this is not a gzip file at all, just some bytes'.repeat(20)));

  await assert.rejects(loadDatasets(options(dir)), (err) => {
    assert.ok(isTrainerError(err, 'E_DATA'));
    assert.ok(err.message.includes(file), err.message);
    return true;
  });
  assert.deepEqual(await readdir(dir), ['cifar-10-binary.tar.gz']);
});

test('an archive in a folder it cannot be extracted into is E_DATA naming the folder (it was E_INTERNAL: a read-only data.path)', async (t) => {
  const { dir: work, cleanup } = await tempDir();
  t.after(cleanup);
  const tarball = await smallTarball(work);
  const { extractCifarTarball } = await import('../../src/data/download.js');
  // /sys: refuses new files, to root too (EPERM or EROFS, as a read-only mount does).
  await assert.rejects(extractCifarTarball(tarball.file, '/sys'), (e) => {
    assert.ok(isTrainerError(e, 'E_DATA'), String(e));
    assert.match(e.message, new RegExp(`^cannot extract ${tarball.file} into /sys: .* \\(data\\.path must be writable: extract the archive there by hand, or give a writable data\\.path holding a copy\\)$`));
    return true;
  });
});
