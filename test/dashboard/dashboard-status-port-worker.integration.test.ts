import assert from 'node:assert/strict';
import test from 'node:test';
import { serveDashboard } from '../../src/dashboard/serve.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { runWsWorker } from '../../src/transports/ws/worker.js';
import { tempDir } from '../helpers.js';

test('a worker pointed at the dashboard\'s own port (--status-port) is told so: it got the page (200) and "not a trainer coordinator (protocol mismatch)"', async () => {
  // The page's handler, answering every path as the dashboard's / does.
  const served = await serveDashboard((_req, res) => (res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html>'), true), '127.0.0.1', 0, { cert: null, key: null });
  const port = Number(new URL(served.url).port);
  try {
    const lines: string[] = [];
    const err = await runWsWorker({ url: `ws://127.0.0.1:${port}`, token: null, gpu: null, cacheDir: await tempDir(), retryForMs: 300, log: (l) => lines.push(l) }).then(
      () => assert.fail('the worker should not have ended cleanly'),
      (e: unknown) => e,
    );
    const why = `127.0.0.1:${port} answered HTTP 421 (misdirected), as a trainer dashboard's own port (--status-port) does: connect to the coordinator's workers' port (cluster.port, --port) instead`;
    assert.equal(lines[0], `cannot connect to ws://127.0.0.1:${port}: ${why}; retrying for up to 0.3 s`);
    assert.ok(isTrainerError(err, 'E_TIMEOUT'), String(err));
    // A browser still gets the page there.
    const page = await fetch(served.url);
    assert.equal(page.status, 200);
  } finally {
    await served.close();
  }
});
