import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { options, serve, tempDir } from './fixtures.js';

test('a download the server or the network fails says how to do without it (it named the URL and nothing to do); a stop does not', { timeout: 15_000 }, async (t) => {
  const { dir: work, cleanup } = await tempDir();
  t.after(cleanup);
  const server = await serve((req, res) => {
    if (req.url === '/slow') {
      res.writeHead(200, { 'content-length': 1000 });
      res.write(Buffer.alloc(10));
      return;
    }
    res.writeHead(403);
    res.end('proxy says no');
  });
  t.after(server.close);
  const refused = await serve(() => undefined);
  const closedUrl = refused.url('/cifar-10-binary.tar.gz');
  await refused.close();

  const dataDir = join(work, 'data');
  const hint = ` (without a download: put the archive, fetched another way, at ${join(dataDir, 'cifar-10-binary.tar.gz')})`;
  await assert.rejects(loadDatasets(options(dataDir, { download: true, url: server.url('/cifar-10-binary.tar.gz') })), (err) => {
    assert.ok(isTrainerError(err, 'E_DOWNLOAD'), String(err));
    assert.equal(err.message, `download of ${server.url('/cifar-10-binary.tar.gz')} failed: HTTP 403 Forbidden${hint}`);
    return true;
  });
  await assert.rejects(loadDatasets(options(dataDir, { download: true, url: closedUrl })), (err) => {
    assert.ok(isTrainerError(err, 'E_DOWNLOAD'), String(err));
    assert.match(err.message, /ECONNREFUSED/);
    assert.ok(err.message.endsWith(hint), err.message);
    return true;
  });
  // Ctrl-C: the user stopped it, nothing to work round.
  const stop = new AbortController();
  const stopped = loadDatasets(options(dataDir, { download: true, url: server.url('/slow'), signal: stop.signal, onProgress: () => stop.abort() }));
  await assert.rejects(stopped, (err) => {
    assert.ok(isTrainerError(err, 'E_DOWNLOAD'), String(err));
    assert.equal(err.message, `download of ${server.url('/slow')} stopped before its end; nothing of it is kept`);
    return true;
  });
});
