import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { options, serve, smallTarball, tempDir } from './fixtures.js';

test('redirects are followed, relative or absolute', { timeout: 15_000 }, async (t) => {
  const { dir: work, cleanup } = await tempDir();
  t.after(cleanup);
  const tarball = await smallTarball(work);
  const server = await serve((req, res) => {
    if (req.url === '/old') {
      res.writeHead(301, { location: '/moved' });
      res.end();
    } else if (req.url === '/moved') {
      res.writeHead(302, { location: server.url('/files/cifar-10-binary.tar.gz') });
      res.end();
    } else if (req.url === '/files/cifar-10-binary.tar.gz') {
      res.end(tarball.bytes);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  t.after(server.close);

  const data = await loadDatasets(options(join(work, 'data'), { download: true, url: server.url('/old'), md5: tarball.md5 }));
  assert.equal(data.train.count, 30);
  assert.deepEqual(server.requests, ['/old', '/moved', '/files/cifar-10-binary.tar.gz']);
});

test('a redirect loop stops after a bounded number of hops with E_DOWNLOAD', { timeout: 15_000 }, async (t) => {
  const { dir: work, cleanup } = await tempDir();
  t.after(cleanup);
  const server = await serve((_req, res) => {
    res.writeHead(307, { location: '/loop' });
    res.end();
  });
  t.after(server.close);

  await assert.rejects(loadDatasets(options(join(work, 'data'), { download: true, url: server.url('/loop') })), (err) => {
    assert.ok(isTrainerError(err, 'E_DOWNLOAD'));
    assert.match(err.message, /redirects/);
    return true;
  });
  assert.equal(server.requests.length, 6, 'the first request plus 5 redirects');
});

test('a redirect to a URL that does not parse, or to another scheme, is E_DOWNLOAD naming data.url and the redirect (it was "Invalid URL", or "download URL must be http://" naming the redirect alone)', { timeout: 15_000 }, async (t) => {
  const { dir: work, cleanup } = await tempDir();
  t.after(cleanup);
  const server = await serve((req, res) => {
    res.writeHead(302, { location: req.url === '/ftp' ? 'ftp://mirror.example/cifar-10-binary.tar.gz' : 'http://[bad' });
    res.end();
  });
  t.after(server.close);

  const cases: [string, string][] = [
    ['/ftp', '"ftp://mirror.example/cifar-10-binary.tar.gz"'],
    ['/bad', '"http://[bad"'],
  ];
  for (const [path, shown] of cases) {
    await assert.rejects(loadDatasets(options(join(work, 'data'), { download: true, url: server.url(path) })), (err) => {
      assert.ok(isTrainerError(err, 'E_DOWNLOAD'), String(err));
      assert.equal(
        err.message,
        `download of ${server.url(path)} failed: HTTP 302 redirects to ${shown}, which is not an http:// or https:// URL (without a download: put the archive, fetched another way, at ${join(work, 'data', 'cifar-10-binary.tar.gz')})`,
      );
      return true;
    });
  }
  assert.deepEqual(server.requests, ['/ftp', '/bad']);
});
