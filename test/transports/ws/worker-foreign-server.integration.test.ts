import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import test from 'node:test';
import { WebSocketServer } from 'ws';
import { runWsWorker } from '../../../src/transports/ws/worker.js';
import { tempDir } from '../../helpers.js';

test('a worker pointed at another WebSocket service says the address may not be the coordinator\'s (it said only "frame is not valid msgpack", on every retry)', async () => {
  // A JSON service, as many WebSocket servers are: its first frame is not a challenge.
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', (ws) => ws.send('{"event":"hello"}'));
  await new Promise<void>((r) => server.once('listening', () => r()));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const lines: string[] = [];
  try {
    const err = await runWsWorker({ url, token: null, gpu: null, cacheDir: await tempDir(), retryForMs: 1500, log: (l) => lines.push(l) }).then(
      () => assert.fail('the worker should not have ended cleanly'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error, String(err));
    const said = lines.filter((l) => l.startsWith('protocol error from the coordinator: '));
    assert.ok(said.length >= 1, lines.join('\n'));
    for (const l of said) assert.ok(l.endsWith(`(its first frame is not a trainer coordinator's: is ${url} the coordinator's address?)`), l);
  } finally {
    for (const c of server.clients) c.terminate();
    server.close();
  }
});
