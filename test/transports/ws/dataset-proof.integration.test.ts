import assert from 'node:assert/strict';
import test from 'node:test';
import WebSocket from 'ws';
import { authMac, newNonce } from '../../../src/transports/ws/auth.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';
import { CLOSE, PROTOCOL_VERSION, type Message, type MessageOf } from '../../../src/transports/ws/protocol.js';
import { loadRunData } from '../../../src/coordinator/run.js';
import { datasetBlob, datasetProof } from '../../../src/transports/ws/wire-dataset.js';
import { tempDir } from '../../helpers.js';
import { TOKEN, startBarePool, waitFor } from './helpers.js';

/** A token holder that skips the dataset and claims ready with `proof(welcome)`. */
async function claimReady(url: string, proof: (w: MessageOf<'welcome'>) => Uint8Array) {
  const ws = new WebSocket(url);
  const got: Message[] = [];
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  ws.on('error', () => {});
  ws.on('message', (d: Buffer) => {
    const m = decodeMessage(d, 'coordinator');
    got.push(m);
    if (m.type === 'challenge') ws.send(encodeMessage({ type: 'hello', protocol: PROTOCOL_VERSION, mac: authMac(TOKEN, 'worker', m.nonce), nonce: newNonce(), name: 'claimer', instance: newNonce() }));
    if (m.type === 'welcome') ws.send(encodeMessage({ type: 'ready', sha256: m.dataset.sha256, backend: 'wasm', proof: proof(m) }));
  });
  return { ws, got, closed };
}

test('a worker that names the dataset sha256 without holding its bytes gets no work: its proof fails and it is closed', async () => {
  const { pool, url, lines } = await startBarePool(await tempDir());
  try {
    const forger = await claimReady(url, () => newNonce());
    const { code, reason } = await forger.closed;
    assert.equal(code, CLOSE.protocolError);
    assert.equal(reason, 'ready without proof of holding the dataset');
    assert.ok(lines.some((l) => /\(claimer\) claims the dataset without proof of holding it/.test(l)));
    assert.equal(pool.size, 0);

    // A proof made from a copy of half the bytes fails too (16 ranges; 1 in 65,536 passes).
    const welcome = forger.got.find((m) => m.type === 'welcome') as MessageOf<'welcome'>;
    const half = Buffer.alloc(welcome.dataset.bytes);
    const partial = await claimReady(url, (w) => datasetProof(half, w.proofNonce));
    assert.equal((await partial.closed).code, CLOSE.protocolError);
  } finally {
    await pool.close();
  }
});

test('the proof is of this connection\'s nonce: a right answer counts, and is no good for another welcome', async () => {
  const { pool, url, config } = await startBarePool(await tempDir());
  try {
    const blob = datasetBlob(await loadRunData(config));
    let first: Uint8Array | null = null;
    const honest = await claimReady(url, (w) => (first = datasetProof(blob, w.proofNonce)));
    await waitFor('the honest claim to be ready', () => pool.size === 1);
    const replay = await claimReady(url, () => first as Uint8Array);
    assert.equal((await replay.closed).code, CLOSE.protocolError);
    honest.ws.close();
  } finally {
    await pool.close();
  }
});
