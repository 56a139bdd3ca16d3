import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tar from 'tar';
import { isTrainerError } from '../../src/shared/errors.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { options, tempDir } from './fixtures.js';

test('an archive that is not the CIFAR-10 binary one (the Python version, CIFAR-100) is E_DATA naming what it holds and what to do, and nothing is extracted', async (t) => {
  const { dir: work, cleanup } = await tempDir();
  t.after(cleanup);
  const cases: [string, string[], string][] = [
    ['cifar-10-batches-py', ['data_batch_1', 'test_batch'], 'cifar-10-batches-py/'],
    ['cifar-100-binary', ['train.bin', 'test.bin'], 'cifar-100-binary/'],
  ];
  for (const [top, files, holds] of cases) {
    const src = join(work, `src-${top}`);
    await mkdir(join(src, top), { recursive: true });
    for (const f of files) await writeFile(join(src, top, f), 'x');
    const dataDir = join(work, `data-${top}`);
    await mkdir(dataDir);
    const archive = join(dataDir, 'cifar-10-binary.tar.gz');
    await tar.c({ gzip: true, file: archive, cwd: src, portable: true }, [top]);
    await assert.rejects(loadDatasets(options(dataDir)), (err) => {
      assert.ok(isTrainerError(err, 'E_DATA'), String(err));
      assert.equal(err.message, `${archive} does not contain cifar-10-batches-bin/data_batch_1.bin (it holds ${holds}): not the CIFAR-10 binary archive? (delete it to download again)`);
      return true;
    });
    assert.deepEqual(await readdir(dataDir), ['cifar-10-binary.tar.gz']);
  }
});
