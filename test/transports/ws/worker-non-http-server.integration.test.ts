import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import test from 'node:test';
import { isTrainerError } from '../../../src/shared/errors.js';
import { runWsWorker } from '../../../src/transports/ws/worker.js';
import { tempDir } from '../../helpers.js';

test('a worker pointed at a port that answers in something other than HTTP says it is another service (it said "Parse Error: Expected HTTP/, RTSP/ or ICE/")', async () => {
  const sockets = new Set<Socket>();
  // An SSH server's first words, as on a mistyped port 22.
  const server = createServer((s) => {
    sockets.add(s);
    s.end('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const hostPort = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const lines: string[] = [];
  try {
    const err = await runWsWorker({ url: `ws://${hostPort}`, token: null, gpu: null, cacheDir: await tempDir(), retryForMs: 1200, log: (l) => lines.push(l) }).then(
      () => assert.fail('the worker should not have ended cleanly'),
      (e: unknown) => e,
    );
    const why = `${hostPort} answered, but not in HTTP (HPE_INVALID_CONSTANT): not a trainer coordinator, another service on that port (check the port)`;
    assert.ok(isTrainerError(err, 'E_TIMEOUT'), String(err));
    assert.ok((err as Error).message.endsWith(`: ${why}`), (err as Error).message);
    assert.deepEqual(lines, [`cannot connect to ws://${hostPort}: ${why}; retrying for up to 1.2 s`]);
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});
