import assert from 'node:assert/strict';
import test from 'node:test';
import WebSocket from 'ws';
import { isTrainerError } from '../../../src/shared/errors.js';
import { authMac, newNonce } from '../../../src/transports/ws/auth.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';
import { CLOSE, PROTOCOL_VERSION } from '../../../src/transports/ws/protocol.js';
import { tempDir } from '../../helpers.js';
import { TOKEN, startBarePool } from './helpers.js';

const WHY = 'welcome.maxBatch must be an integer in [1, 4096]';

/** A worker that authenticates, then closes on the welcome the way a worker whose decoder refuses it does. */
function rejecter(url: string): Promise<void> {
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  ws.on('message', (d: Buffer) => {
    const m = decodeMessage(d, 'coordinator');
    if (m.type === 'challenge') ws.send(encodeMessage({ type: 'hello', protocol: PROTOCOL_VERSION, mac: authMac(TOKEN, 'worker', m.nonce), nonce: newNonce(), name: 'picky', instance: newNonce() }));
    if (m.type === 'welcome') ws.close(CLOSE.protocolError, WHY);
  });
  return new Promise((r) => ws.on('close', () => r()));
}

test('a coordinator whose welcome every worker rejects says why, each time, and stops waiting with E_PROTOCOL', async () => {
  const { pool, url, lines } = await startBarePool(await tempDir());
  try {
    const waiting = pool.waitForWorkers(1);
    waiting.catch(() => {}); // asserted below
    for (let i = 0; i < 3; i++) await rejecter(url);
    await assert.rejects(waiting, (e) => {
      assert.ok(isTrainerError(e, 'E_PROTOCOL'), String(e));
      assert.equal(e.message, `3 workers in a row rejected this coordinator's welcome and none is ready: ${WHY}`);
      return true;
    });
    assert.equal(lines.filter((l) => l.endsWith(`(picky) rejected this coordinator's welcome: ${WHY}`)).length, 3);
  } finally {
    await pool.close();
  }
});
