import assert from 'node:assert/strict';
import { connect } from 'node:net';
import test from 'node:test';
import { tempDir } from '../../helpers.js';
import { startBarePool } from './helpers.js';

/** A masked binary frame's header announcing `length` payload bytes, with a zero mask. */
function frameHeader(length: number): Buffer {
  const h = Buffer.alloc(14);
  h[0] = 0x82;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}

/** The close code in what a server sent after its 101 (unmasked frames), or null. */
function closeCode(received: Buffer): number | null {
  let at = received.indexOf('\r\n\r\n') + 4;
  while (at > 3 && at + 2 <= received.length) {
    const opcode = (received[at] as number) & 0x0f;
    let length = (received[at + 1] as number) & 0x7f;
    let start = at + 2;
    if (length === 126) [length, start] = [received.readUInt16BE(at + 2), at + 4];
    if (opcode === 0x8) return start + 2 <= received.length ? received.readUInt16BE(start) : null;
    at = start + length;
  }
  return null;
}

test('a client without the token whose frame header announces 10 MB is closed with 1009 before it sends the payload, though a gradient of the model may be 15 MB', async () => {
  // fc: a gradient frame of 15 MB, so 10 MB is within the limit of a ready worker's frames.
  const { pool, url } = await startBarePool(await tempDir(), { model: { name: 'fc' } });
  assert.ok(pool.listening.maxPayloadBytes > 10 * 1024 * 1024);
  const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port) });
  try {
    let received = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    for (let i = 0; i < 200 && !received.includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.match(received.toString('latin1'), /^HTTP\/1\.1 101/);
    // The header and a few payload bytes, then nothing: a coordinator waiting for the payload would keep the socket.
    socket.write(Buffer.concat([frameHeader(10 * 1024 * 1024), Buffer.alloc(16)]));
    const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open after 3 s'), 3000))]);
    assert.equal(outcome, 'closed');
    assert.equal(closeCode(received), 1009);
  } finally {
    socket.destroy();
    await pool.close();
  }
});
