import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { downloadFile } from '../../src/data/download.js';
import { serve, tempDir } from './fixtures.js';

test('a stop (the signal aborts) ends a download in progress at once with E_DOWNLOAD "stopped", and keeps nothing of it', { timeout: 15_000 }, async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  // 1,000 of 5,000 bytes, then silence: only the stop can end it (the idle timeout is a minute).
  const server = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': 5000 });
    res.write(Buffer.alloc(1000));
  });
  t.after(server.close);

  const stop = new AbortController();
  let received = 0;
  const started = Date.now();
  const download = downloadFile(server.url('/archive'), join(dir, 'out.tar.gz'), {
    md5: '0'.repeat(32),
    signal: stop.signal,
    onProgress: (n) => {
      received = n;
      if (n >= 1000) stop.abort();
    },
  });
  await assert.rejects(download, (err) => {
    assert.ok(isTrainerError(err, 'E_DOWNLOAD'), String(err));
    assert.match(err.message, /stopped before its end; nothing of it is kept/);
    return true;
  });
  assert.equal(received, 1000);
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  assert.deepEqual(await readdir(dir), [], 'no partial file left');
});

test('a download whose signal is already aborted does not start', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const server = await serve((_req, res) => res.end('x'));
  t.after(server.close);
  const stop = new AbortController();
  stop.abort();
  await assert.rejects(downloadFile(server.url('/archive'), join(dir, 'out.tar.gz'), { md5: '0'.repeat(32), signal: stop.signal }), (err) =>
    isTrainerError(err, 'E_DOWNLOAD') && /stopped/.test(err.message),
  );
  assert.deepEqual(server.requests, []);
  assert.deepEqual(await readdir(dir), []);
});
