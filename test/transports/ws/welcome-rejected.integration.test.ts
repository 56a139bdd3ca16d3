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

test('a coordinator whose welcome every worker rejects says why, each time, and stops waiting with E_PROTOCOL once they have for cluster.noWorkerTimeoutMs', async () => {
  // 4 s, not 1.5: a handshake in this process took ~0.7 s on one core beside the Slurm test, and three
  // rejections spread past the limit stop it, as they should, before the check below.
  const { pool, url, lines } = await startBarePool(await tempDir(), { cluster: { noWorkerTimeoutMs: 4000 } });
  try {
    const waiting = pool.waitForWorkers(1);
    let over = false;
    waiting.catch(() => {}).finally(() => (over = true)); // asserted below
    const t0 = performance.now();
    // Three at once do not stop it (a rejection is the worker's word: three token holders did so at once).
    for (let i = 0; i < 3; i++) await rejecter(url);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(over, false, 'still waiting after three rejections in 200 ms');
    // As real workers do, they keep trying and rejecting.
    while (!over && performance.now() - t0 < 15_000) await rejecter(url);
    await assert.rejects(waiting, (e) => {
      assert.ok(isTrainerError(e, 'E_PROTOCOL'), String(e));
      assert.match(e.message, new RegExp(`^\\d+ workers in a row rejected this coordinator's welcome over 4 s \\(cluster\\.noWorkerTimeoutMs\\) and none is ready: ${WHY.replace(/[.[\]]/g, '\\$&')}$`));
      return true;
    });
    assert.ok(performance.now() - t0 >= 4000, 'not before cluster.noWorkerTimeoutMs');
    assert.ok(lines.filter((l) => l.endsWith(`(picky) rejected this coordinator's welcome: ${WHY}`)).length >= 3);
  } finally {
    await pool.close();
  }
});
