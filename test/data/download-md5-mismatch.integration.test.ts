import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { options, serve, smallTarball, tempDir } from './fixtures.js';

test('a download with the wrong md5 is E_DOWNLOAD and leaves no file behind', { timeout: 15_000 }, async (t) => {
  const { dir: work, cleanup } = await tempDir();
  t.after(cleanup);
  const tarball = await smallTarball(work);
  const server = await serve((_req, res) => res.end(tarball.bytes));
  t.after(server.close);

  const dataDir = join(work, 'data');
  const url = server.url('/cifar-10-binary.tar.gz');
  await assert.rejects(loadDatasets(options(dataDir, { download: true, url, md5: '0'.repeat(32) })), (err) => {
    assert.ok(isTrainerError(err, 'E_DOWNLOAD'));
    assert.match(err.message, /md5/);
    assert.ok(err.message.includes(tarball.md5), err.message);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
  assert.equal(existsSync(dataDir), false, 'no temp file, no tarball, not even the folder made for them');
});
