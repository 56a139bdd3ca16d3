import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../../helpers.js';
import { killAll, spawnWorker, startBarePool, waitFor } from './helpers.js';

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('with cluster.tls the coordinator speaks wss, and a worker trusting its certificate joins', { skip: !haveOpenssl() && 'no openssl' }, async () => {
  const dir = await tempDir();
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  const { pool, url } = await startBarePool(dir, { cluster: { tls: { cert, key } } });
  try {
    assert.match(url, /^wss:\/\/127\.0\.0\.1:\d+$/);
    const untrusting = spawnWorker(url, dir, 'untrusting', ['--retry-for-ms', '300']);
    const trusting = spawnWorker(url, dir, 'trusting', ['--ca', cert]);
    await waitFor('the trusting worker', () => pool.size === 1);
    assert.equal(await untrusting.exited, 1);
    assert.match(untrusting.output(), /error E_TIMEOUT: no coordinator at wss:/);
    killAll([trusting]);
  } finally {
    await pool.close();
  }
});
