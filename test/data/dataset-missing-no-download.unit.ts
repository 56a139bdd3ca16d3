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

test('a file where data.path or the batches folder goes, or a folder named like the archive, is E_DATA saying so, before any download', async (t) => {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const aFile = join(dir, 'afile');
  await writeFile(aFile, 'x');
  const batches = join(dir, 'b', 'cifar-10-batches-bin');
  await mkdir(join(dir, 'b'));
  await writeFile(batches, 'x');
  const archive = join(dir, 't', 'cifar-10-binary.tar.gz');
  await mkdir(archive, { recursive: true });
  const cases: [string, string][] = [
    [aFile, `${aFile} is not a folder (holding the archive or the extracted batches)`],
    [join(dir, 'b'), `${batches} is not the folder of extracted batch files`],
    [join(dir, 't'), `${archive} is not the archive file`],
  ];
  for (const [path, message] of cases) {
    // download true and a URL nothing listens on: refused before it is tried.
    await assert.rejects(loadDatasets(options(path, { download: true, url: 'http://127.0.0.1:9/x' })), (err) => isTrainerError(err, 'E_DATA') && err.message === message);
  }
});
