import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { options, serve, tempDir } from './fixtures.js';

test('a server answering 404 is E_DOWNLOAD naming the status', { timeout: 15_000 }, async (t) => {
  const { dir: work, cleanup } = await tempDir();
  t.after(cleanup);
  const server = await serve((_req, res) => {
    res.writeHead(404);
    res.end('not here');
  });
  t.after(server.close);

  const dataDir = join(work, 'data', 'nested', 'deeper');
  await assert.rejects(loadDatasets(options(dataDir, { download: true, url: server.url('/missing.tar.gz') })), (err) => {
    assert.ok(isTrainerError(err, 'E_DOWNLOAD'));
    assert.match(err.message, /HTTP 404/);
    assert.ok(err.message.includes(server.url('/missing.tar.gz')), err.message);
    return true;
  });
  assert.equal(existsSync(join(work, 'data')), false, 'nothing written, not even the folders made for it');
});

test('a refused connection is E_DOWNLOAD', { timeout: 15_000 }, async (t) => {
  const { dir: work, cleanup } = await tempDir();
  t.after(cleanup);
  // Take a free port, then close it so nothing listens there.
  const server = await serve(() => undefined);
  const url = server.url('/cifar-10-binary.tar.gz');
  await server.close();

  const dataDir = join(work, 'data');
  await assert.rejects(loadDatasets(options(dataDir, { download: true, url })), (err) => {
    assert.ok(isTrainerError(err, 'E_DOWNLOAD'));
    assert.match(err.message, /ECONNREFUSED/);
    return true;
  });
  assert.equal(existsSync(dataDir), false, 'nothing written, not even the folder made for it');
});

test('a body cut short of its Content-Length is E_DOWNLOAD with no file left', { timeout: 15_000 }, async (t) => {
  const { dir: work, cleanup } = await tempDir();
  t.after(cleanup);
  const server = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': 10_000 });
    res.write(Buffer.alloc(1000));
    setTimeout(() => res.destroy(), 20);
  });
  t.after(server.close);

  const dataDir = join(work, 'data');
  const calls: [number, number | null, boolean][] = [];
  const onProgress = (received: number, total: number | null, ended = false) => void calls.push([received, total, ended]);
  await assert.rejects(loadDatasets(options(dataDir, { download: true, url: server.url('/x'), onProgress })), (err) => {
    assert.ok(isTrainerError(err, 'E_DOWNLOAD'));
    assert.match(err.message, /broke off after \d+ of 10000 bytes/);
    return true;
  });
  assert.equal(existsSync(dataDir), false, 'nothing written, not even the folder made for it');
  // The progress is told the download ended (a terminal's bar ends its line: the error was written onto it).
  assert.deepEqual(calls.at(-1), [1000, 10_000, true]);
  assert.equal(calls.filter((c) => c[2]).length, 1);
});
