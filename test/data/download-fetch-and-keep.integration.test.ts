import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDatasets } from '../../src/data/dataset.js';
import { options, serve, smallTarball, tempDir } from './fixtures.js';

test('download fetches, checks md5, extracts, loads, and keeps the tarball for next time', { timeout: 15_000 }, async (t) => {
  const { dir: work, cleanup } = await tempDir();
  t.after(cleanup);
  const tarball = await smallTarball(work);
  const server = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': tarball.bytes.length });
    res.end(tarball.bytes);
  });
  t.after(server.close);

  const dataDir = join(work, 'data');
  const progress: Array<[number, number | null]> = [];
  const opts = options(dataDir, {
    download: true,
    url: server.url('/cifar-10-binary.tar.gz'),
    md5: tarball.md5,
    onProgress: (received, total) => progress.push([received, total]),
  });
  const data = await loadDatasets(opts);

  assert.equal(data.train.count, 30);
  assert.equal(data.val.count, 10);
  assert.deepEqual(server.requests, ['/cifar-10-binary.tar.gz']);
  assert.deepEqual(progress.at(-1), [tarball.bytes.length, tarball.bytes.length]);
  assert.deepEqual((await readdir(dataDir)).sort(), ['cifar-10-batches-bin', 'cifar-10-binary.tar.gz']);
  assert.deepEqual(await readFile(join(dataDir, 'cifar-10-binary.tar.gz')), tarball.bytes);

  // Second call: the extracted folder is there, the server is not asked again.
  const again = await loadDatasets(opts);
  assert.deepEqual(again.train.images, data.train.images);
  assert.equal(server.requests.length, 1);
});
