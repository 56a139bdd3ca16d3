import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { downloadFile } from '../../src/data/download.js';
import { serve, tempDir } from './fixtures.js';

test('a server that goes silent is E_DOWNLOAD after idleTimeoutMs', { timeout: 15_000 }, async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const server = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': 5000 });
    res.write(Buffer.alloc(100)); // then nothing
  });
  t.after(server.close);

  const started = Date.now();
  await assert.rejects(downloadFile(server.url('/slow'), join(dir, 'out.tar.gz'), { md5: '0'.repeat(32), idleTimeoutMs: 200 }), (err) => {
    assert.ok(isTrainerError(err, 'E_DOWNLOAD'));
    assert.match(err.message, /200 ms/);
    return true;
  });
  assert.ok(Date.now() - started < 5000);
  assert.deepEqual(await readdir(dir), []);
});

test('a body over maxDownloadBytes is E_DOWNLOAD, whether announced or not', { timeout: 15_000 }, async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const server = await serve((req, res) => {
    if (req.url === '/announced') res.writeHead(200, { 'content-length': 4096 });
    res.end(Buffer.alloc(4096));
  });
  t.after(server.close);

  for (const path of ['/announced', '/chunked']) {
    await assert.rejects(downloadFile(server.url(path), join(dir, 'out.tar.gz'), { md5: '0'.repeat(32), maxDownloadBytes: 1000 }), (err) => {
      assert.ok(isTrainerError(err, 'E_DOWNLOAD'), String(err));
      assert.match(err.message, /1000-byte limit/);
      return true;
    });
  }
  assert.deepEqual(await readdir(dir), []);
});

test('a URL that is not http or https, or no URL at all, is E_DOWNLOAD in the words a redirect to one gets, credentials hidden', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const cases: [string, string][] = [
    ['ftp://example.invalid/x.tar.gz', 'ftp://example.invalid/x.tar.gz'],
    ['file:///tmp/x.tar.gz', 'file:///tmp/x.tar.gz'],
    ['http://[bad', 'http://[bad'],
    ['ftp://alice:secret@example.invalid/x.tar.gz', 'ftp://***@example.invalid/x.tar.gz'],
  ];
  for (const [url, shown] of cases) {
    await assert.rejects(downloadFile(url, join(dir, 'x'), { md5: '' }), (err) => {
      assert.ok(isTrainerError(err, 'E_DOWNLOAD'), String(err));
      assert.equal(err.message, `download of ${shown} failed: not an http:// or https:// URL`);
      return true;
    });
  }
  assert.deepEqual(await readdir(dir), []);
});
