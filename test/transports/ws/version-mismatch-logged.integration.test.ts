import assert from 'node:assert/strict';
import test from 'node:test';
import WebSocket from 'ws';
import { authMac, newNonce } from '../../../src/transports/ws/auth.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';
import { CLOSE, PROTOCOL_VERSION } from '../../../src/transports/ws/protocol.js';
import { tempDir } from '../../helpers.js';
import { TOKEN, startBarePool, waitFor } from './helpers.js';

const OTHER = PROTOCOL_VERSION + 1;

/** A worker of protocol OTHER, as every version since the first: it hangs up on the challenge with 4426 and these words; resolves with its local port once closed. */
function otherVersionWorker(url: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    let port = 0;
    ws.on('upgrade', (res) => (port = res.socket.localPort ?? 0));
    ws.on('error', () => {});
    ws.on('close', () => resolve(port));
    ws.on('message', (d: Buffer) => {
      const m = decodeMessage(d, 'coordinator');
      if (m.type === 'challenge') ws.close(CLOSE.versionMismatch, `coordinator speaks protocol ${m.protocol}, this worker ${OTHER}`);
    });
  });
}

const mismatchLines = (lines: string[]) => lines.filter((l) => /protocol/.test(l));

test('a worker of another protocol version that hangs up on the challenge gets one coordinator line with its address and both versions', async () => {
  const { pool, url, lines } = await startBarePool(await tempDir());
  try {
    const port = await otherVersionWorker(url);
    await waitFor('the line', () => mismatchLines(lines).length > 0, 5000);
    assert.deepEqual(mismatchLines(lines), [`a worker at 127.0.0.1:${port} speaks protocol ${OTHER}, this coordinator ${PROTOCOL_VERSION}: it cannot join until both run the same trainer version`]);
  } finally {
    await pool.close();
  }
});

test("a hello of another protocol version gets 4426 and a coordinator line with the worker's name", async () => {
  const { pool, url, lines } = await startBarePool(await tempDir());
  try {
    const ws = new WebSocket(url);
    ws.on('error', () => {});
    ws.on('message', (d: Buffer) => {
      const m = decodeMessage(d, 'coordinator');
      if (m.type === 'challenge') ws.send(encodeMessage({ type: 'hello', protocol: OTHER, mac: authMac(TOKEN, 'worker', m.nonce), nonce: newNonce(), name: 'gpu-7', instance: newNonce() }));
    });
    const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
    assert.equal(code, CLOSE.versionMismatch);
    await waitFor('the line', () => mismatchLines(lines).length > 0, 5000);
    assert.match(mismatchLines(lines).join('\n'), new RegExp(`^worker gpu-7 at 127\\.0\\.0\\.1:\\d+ speaks protocol ${OTHER}, this coordinator ${PROTOCOL_VERSION}: `));
  } finally {
    await pool.close();
  }
});

test('20 such hang-ups in a burst give one line at once, and the rest are counted on one more line, not one each', async () => {
  const { pool, url, lines } = await startBarePool(await tempDir());
  try {
    for (let i = 0; i < 20; i++) await otherVersionWorker(url);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(mismatchLines(lines).length, 1, mismatchLines(lines).join('\n'));
  } finally {
    await pool.close();
  }
  const told = mismatchLines(lines);
  assert.equal(told.length, 2, told.join('\n'));
  assert.match(told[1] as string, /\(19 connections of another protocol version since the last such line\)$/);
});

test('a peer closing with 4426 in words of its own gets a line that quotes none of them', async () => {
  const { pool, url, lines } = await startBarePool(await tempDir());
  try {
    const ws = new WebSocket(url);
    ws.on('error', () => {});
    ws.on('message', () => ws.close(CLOSE.versionMismatch, 'coordinator speaks protocol 8, this worker 9\nerror E_DIVERGED: fake'));
    await new Promise((resolve) => ws.on('close', resolve));
    await waitFor('the line', () => mismatchLines(lines).length > 0, 5000);
    assert.match(mismatchLines(lines)[0] as string, /^a worker at 127\.0\.0\.1:\d+ speaks another protocol version \(it did not say which\), this coordinator \d+: /);
    assert.ok(!lines.some((l) => /E_DIVERGED/.test(l)), lines.join('\n'));
  } finally {
    await pool.close();
  }
});
