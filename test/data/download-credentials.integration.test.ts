import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { runTraining } from '../../src/coordinator/run.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { renderReport } from '../../src/report/html.js';
import { readRun } from '../../src/report/read-run.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { hideCredentials } from '../../src/shared/url.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { quietLog, smallConfig } from '../helpers.js';
import { options, serve, smallTarball, tempDir } from './fixtures.js';

test('hideCredentials shows a URL\'s user and password as ***, and leaves other text alone', () => {
  assert.equal(hideCredentials('http://alice:s3cret@127.0.0.1:8765/x.tar.gz'), 'http://***@127.0.0.1:8765/x.tar.gz');
  assert.equal(hideCredentials('https://ghp_token@example.com/a?b=c'), 'https://***@example.com/a?b=c');
  assert.equal(hideCredentials('https://u:p@ss@example.com/a@b'), 'https://***@example.com/a@b');
  assert.equal(hideCredentials('https://example.com/a@b'), 'https://example.com/a@b');
  assert.equal(hideCredentials('not a url'), 'not a url');
  // A password with an unescaped # / or ? does not parse: it was shown (and stored) as typed.
  assert.equal(hideCredentials('https://alice:pa#ss42@127.0.0.1:8765/x.tar.gz'), 'https://***@127.0.0.1:8765/x.tar.gz');
  assert.equal(hideCredentials('https://alice:pa/ss?x@h/x'), 'https://***@h/x');
  // One that starts with digits parses, as a port and a path with the rest: it was shown as typed.
  assert.equal(hideCredentials('https://alice:123/pw@h/x'), 'https://***@h/x');
  assert.equal(hideCredentials('https://example.com:8443/a/b.tar.gz'), 'https://example.com:8443/a/b.tar.gz');
  // Spellings the URL parser takes, and the download with it (a regular expression on :// missed them).
  assert.equal(hideCredentials('http:/alice:s3cret@127.0.0.1:8765/x'), 'http://***@127.0.0.1:8765/x');
  assert.equal(hideCredentials('  https://alice:s3cret@h/x'), 'https://***@h/x');
});

test('a data.url with credentials: the run downloads with them, and keeps them out of config.json, the checkpoint, the report and its errors', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const tarball = await smallTarball(dir);
  const auths: string[] = [];
  const server = await serve((req, res) => {
    auths.push(req.headers.authorization ?? '');
    if (req.url !== '/cifar.tar.gz') {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-length': tarball.bytes.length });
    res.end(tarball.bytes);
  });
  t.after(server.close);
  const secret = 's3cret-in-the-url';
  const url = server.url('/cifar.tar.gz').replace('http://', `http://alice:${secret}@`);
  const config = smallConfig(dir, {
    run: { name: 'cred' },
    data: { source: 'cifar10', path: join(dir, 'data'), download: true, url, md5: tarball.md5 },
    train: { epochs: 1, batchSize: 10, microBatches: 2 },
    eval: { batchSize: 10 },
  });
  const r = await runTraining({ config, resume: false, createPool: createInProcessPool, log: quietLog });
  assert.equal(r.outcome, 'finished');
  assert.deepEqual(auths, [`Basic ${Buffer.from(`alice:${secret}`).toString('base64')}`], 'downloaded with the credentials');
  const folder = new RunFolder(join(dir, 'runs', 'cred'));
  for (const file of [folder.configFile, folder.checkpointFile]) {
    const text = (await readFile(file)).toString('latin1');
    assert.ok(!text.includes(secret), `${file} holds the password`);
    assert.ok(text.includes('http://***@127.0.0.1:'), `${file} keeps the URL, hidden`);
  }
  assert.ok(!renderReport(await readRun(folder.dir)).includes(secret), 'report.html');

  const missing = server.url('/missing').replace('http://', `http://alice:${secret}@`);
  await assert.rejects(loadDatasets(options(join(dir, 'other'), { download: true, url: missing })), (err) => {
    assert.ok(isTrainerError(err, 'E_DOWNLOAD'));
    assert.ok(!err.message.includes(secret), err.message);
    assert.match(err.message, /^download of http:\/\/\*\*\*@127\.0\.0\.1:\d+\/missing failed: HTTP 404/);
    return true;
  });
});
