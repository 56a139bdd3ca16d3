import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import test from 'node:test';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { runWsWorker } from '../../../src/transports/ws/worker.js';
import { tempDir } from '../../helpers.js';
import { acceptByHand, challengeFrame, clientFramePayload } from './helpers.js';

test('a worker masks its frames with zeros (so neither end XORs a gradient), and they still decode', async () => {
  const dir = await tempDir();
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const stop = new AbortController();
  const worker = runWsWorker({ url: `ws://127.0.0.1:${port}`, token: null, gpu: null, cacheDir: dir, retryForMs: 2000, log: () => {}, signal: stop.signal });
  try {
    const { socket, readUntil } = await acceptByHand(server);
    socket.write(challengeFrame());

    const frame = await readUntil((b) => clientFramePayload(b) !== null);
    assert.equal(frame[0], 0x82, 'one binary frame');
    assert.equal((frame[1] as number) & 0x80, 0x80, 'client frames carry the mask bit, as RFC 6455 requires');
    const payload = clientFramePayload(frame) as Buffer;
    const key = frame.subarray(payload.byteOffset - frame.byteOffset - 4, payload.byteOffset - frame.byteOffset);
    assert.deepEqual([...key], [0, 0, 0, 0], 'the masking key is all zeros');
    const hello = decodeMessage(payload, 'worker');
    assert.equal(hello.type, 'hello');
    socket.destroy();
  } finally {
    stop.abort();
    await worker.catch(() => {});
    server.close();
  }
});
