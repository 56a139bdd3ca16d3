import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import test from 'node:test';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { PROTOCOL_VERSION } from '../../../src/transports/ws/protocol.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';
import { newNonce } from '../../../src/transports/ws/auth.js';
import { runWsWorker } from '../../../src/transports/ws/worker.js';
import { tempDir } from '../../helpers.js';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Everything `socket` receives, and a way to wait until enough has come (a bounded wait). */
function collect(socket: Socket): (enough: (b: Buffer) => boolean) => Promise<Buffer> {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (buf = Buffer.concat([buf, chunk])));
  return async (enough) => {
    for (let i = 0; i < 500 && !enough(buf); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(enough(buf), `the worker sent what was expected within 5 s (got ${buf.toString('hex').slice(0, 80)})`);
    const out = buf;
    buf = Buffer.alloc(0);
    return out;
  };
}

test('a worker masks its frames with zeros (so neither end XORs a gradient), and they still decode', async () => {
  const dir = await tempDir();
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const stop = new AbortController();
  const worker = runWsWorker({ url: `ws://127.0.0.1:${port}`, token: null, gpu: null, cacheDir: dir, retryForMs: 2000, log: () => {}, signal: stop.signal });
  try {
    const [socket] = (await once(server, 'connection')) as [Socket];
    const readUntil = collect(socket);
    const request = await readUntil((b) => b.includes('\r\n\r\n'));
    const key = /sec-websocket-key: *(\S+)/i.exec(request.toString('latin1'))?.[1] as string;
    const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    // The coordinator's challenge: a server frame, unmasked.
    const challenge = encodeMessage({ type: 'challenge', protocol: PROTOCOL_VERSION, nonce: newNonce() });
    assert.ok(challenge.length < 126);
    socket.write(Buffer.concat([Buffer.from([0x82, challenge.length]), challenge]));

    const frame = await readUntil((b) => b.length >= 2 && b.length >= 6 + ((b[1] as number) & 0x7f));
    assert.equal(frame[0], 0x82, 'one binary frame');
    assert.equal((frame[1] as number) & 0x80, 0x80, 'client frames carry the mask bit, as RFC 6455 requires');
    const length = (frame[1] as number) & 0x7f;
    assert.ok(length < 126);
    assert.deepEqual([...frame.subarray(2, 6)], [0, 0, 0, 0], 'the masking key is all zeros');
    const hello = decodeMessage(frame.subarray(6, 6 + length), 'worker');
    assert.equal(hello.type, 'hello');
    socket.destroy();
  } finally {
    stop.abort();
    await worker.catch(() => {});
    server.close();
  }
});
