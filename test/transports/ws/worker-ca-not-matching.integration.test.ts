import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import test from 'node:test';
import { WebSocketServer } from 'ws';
import { isTrainerError } from '../../../src/shared/errors.js';
import { runWsWorker } from '../../../src/transports/ws/worker.js';
import { tempDir } from '../../helpers.js';

const haveOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** A self-signed certificate for 127.0.0.1 and its key, in `dir` as NAME.pem and NAME.key. */
function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

test('a worker whose --ca does not vouch for the coordinator\'s certificate is told so; it was told to give --ca FILE, which it had', { skip: !haveOpenssl && 'no openssl' }, async () => {
  const dir = await tempDir();
  const served = selfSigned(dir, 'coordinator');
  const other = selfSigned(dir, 'other');
  const server = createHttpsServer({ cert: readFileSync(served.cert), key: readFileSync(served.key) }) as unknown as Server;
  const wss = new WebSocketServer({ server });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const lines: string[] = [];
    const err = await runWsWorker({
      url: `wss://127.0.0.1:${port}`,
      token: null,
      gpu: null,
      cacheDir: await tempDir(),
      retryForMs: 300,
      ca: readFileSync(other.cert),
      log: (l) => lines.push(l),
    }).then(
      () => assert.fail('the worker should not have ended cleanly'),
      (e: unknown) => e,
    );
    const why =
      "TLS certificate not trusted (self-signed certificate) (DEPTH_ZERO_SELF_SIGNED_CERT): the --ca given is neither this certificate nor the CA that signed it (another coordinator's, or an older one?): give the coordinator's cluster.tls.cert, or its CA's";
    assert.equal(lines[0], `cannot connect to wss://127.0.0.1:${port}: ${why}; retrying for up to 0.3 s`);
    assert.ok(isTrainerError(err, 'E_TIMEOUT'), String(err));
    assert.equal((err as Error).message, `no coordinator at wss://127.0.0.1:${port} after 0.3 s: ${why}`);
  } finally {
    wss.close();
    server.close();
  }
});
