import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { options, serve } from './fixtures.js';

// /sys refuses new files and folders, to root too (EACCES or EPERM, as a read-only mount does): tests run as root, where chmod stops nothing.
test('a download into a data.path that takes no file is E_DATA saying data.path must be writable, before a byte is fetched (it was E_DOWNLOAD, exit 1, once the archive had come)', async (t) => {
  const server = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': 100_000 });
    res.end(Buffer.alloc(100_000));
  });
  t.after(server.close);
  const url = server.url('/cifar-10-binary.tar.gz');

  await assert.rejects(loadDatasets(options('/sys', { download: true, url })), (err) => {
    assert.ok(isTrainerError(err, 'E_DATA'), String(err));
    assert.equal(err.exitCode, 2);
    assert.match(err.message, new RegExp(`^cannot download ${url.replace(/[.]/g, '\\.')} into /sys: (permission denied \\(EACCES\\)|operation not permitted \\(EPERM\\)|a read-only file system \\(EROFS\\)) \\(data\\.path must be writable: put the archive there, fetched another way, or give a writable data\\.path\\)$`));
    return true;
  });
  // A data.path that cannot be made there: no download was begun either.
  await assert.rejects(loadDatasets(options('/sys/trainer-data', { download: true, url })), (err) => {
    assert.ok(isTrainerError(err, 'E_DATA'), String(err));
    assert.match(err.message, /^cannot create data folder \/sys\/trainer-data: (permission denied \(EACCES\)|operation not permitted \(EPERM\)|a read-only file system \(EROFS\))$/);
    return true;
  });
  assert.deepEqual(server.requests, [], 'nothing fetched');
});
